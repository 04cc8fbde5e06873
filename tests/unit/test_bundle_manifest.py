"""The image bundle's manifest: round trip, and every kind of damage is named."""

from __future__ import annotations

import pytest

from provisioner.core.bundle_manifest import (
    BundledImage,
    BundleInvalid,
    Manifest,
    file_problems,
    parse_manifest,
)

MANIFEST = Manifest(
    project="dev",
    images=(
        BundledImage(("redis",), "redis:7-alpine", "sha256:aa", ("redis@sha256:bb",)),
        BundledImage(("mock",), "dev-mock:local", "sha256:cc"),
    ),
    files={"manifest.json": "11" * 32, "blobs/sha256/aa": "22" * 32},
)


def test_round_trip():
    assert parse_manifest(MANIFEST.to_json()) == MANIFEST


@pytest.mark.parametrize(
    "text",
    ["", "{", "[]", '{"format": "other/1"}', '{"format": "provisioner-image-bundle/1"}'],
)
def test_unreadable_manifest_is_bundle_invalid(text):
    with pytest.raises(BundleInvalid):
        parse_manifest(text)


def test_intact_files_have_no_problems():
    assert file_problems(MANIFEST, dict(MANIFEST.files)) == []


def test_changed_missing_and_extra_files_are_named():
    actual = {"manifest.json": "99" * 32, "extra": "00" * 32}
    problems = file_problems(MANIFEST, actual)
    assert problems == [
        "blobs/sha256/aa is missing",
        "manifest.json has checksum 999999999999, expected 111111111111",
        "extra is not listed in the manifest",
    ]
