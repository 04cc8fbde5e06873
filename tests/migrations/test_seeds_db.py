"""Seeds against a real PostgreSQL: idempotent, applied when edited, hashes that verify."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from provisioner.database.migrations import migrate_up
from provisioner.database.seeds import pending_seeds, run_seeds
from provisioner.errors import MigrationError

from .conftest import MIGRATIONS, SEEDS, query, scalar

pytestmark = pytest.mark.docker

VARIABLES = {
    "org_name": "Bootstrap Org",
    "org_slug": "bootstrap",
    "admin_email": "Admin@IAS.local",
    "admin_password": "dev_admin_password",
    "mock_model_base_url": "http://mock-inference:8000/v1",
}
SNAPSHOT = {
    "organizations": "SELECT id, slug, name, created_at, updated_at FROM organizations",
    "users": "SELECT id, org_id, email, role, password_hash, disabled, updated_at FROM users",
    "api_keys": "SELECT id, org_id, user_id, name, key_prefix, key_hash, revoked_at FROM api_keys",
    "model_mappings": "SELECT * FROM model_mappings",
}
ALL = ["001_bootstrap_org", "002_admin_user", "003_dev_api_key", "004_model_mappings"]


def snapshot(dsn: str) -> dict[str, list[tuple]]:
    return {name: sorted(query(dsn, sql), key=str) for name, sql in SNAPSHOT.items()}


@pytest.fixture
def migrated(database: str) -> str:
    migrate_up(database, MIGRATIONS)
    return database


def test_seed_from_empty(migrated: str):
    assert pending_seeds(migrated, SEEDS) == ALL
    report = run_seeds(migrated, SEEDS, VARIABLES)
    assert report.applied == ALL and report.skipped == []
    assert query(migrated, "SELECT slug, name FROM organizations") == [
        ("bootstrap", "Bootstrap Org")
    ]
    user = query(migrated, "SELECT email, role, password_hash FROM users")
    assert [(u[0], u[1]) for u in user] == [("admin@ias.local", "system_admin")]
    assert user[0][2].startswith("$2a$12$")  # bcrypt, cost 12 (pgcrypto defaults to 6)
    mapping = query(
        migrated,
        "SELECT public_name, provider, base_url, backend_model, enabled FROM model_mappings",
    )
    assert mapping == [
        ("mock-gpt", "openai-compatible", "http://mock-inference:8000/v1", "mock-gpt", True)
    ]
    assert pending_seeds(migrated, SEEDS, VARIABLES) == []


def test_admin_password_and_dev_key_verify_against_their_hashes(migrated: str):
    report = run_seeds(migrated, SEEDS, VARIABLES)
    assert scalar(
        migrated,
        "SELECT crypt(%s, password_hash) = password_hash FROM users WHERE email = %s",
        ("dev_admin_password", "admin@ias.local"),
    )
    assert not scalar(migrated, "SELECT crypt('wrong', password_hash) = password_hash FROM users")

    key = report.dev_api_key
    assert key and key.startswith("ias_dev_") and len(key) >= 40
    row = query(migrated, "SELECT key_hash, key_prefix, user_id IS NOT NULL FROM api_keys")
    assert row == [(hashlib.sha256(key.encode()).hexdigest(), key[:12], True)]
    # the same check a service would make, in SQL
    assert scalar(
        migrated,
        "SELECT count(*) FROM api_keys WHERE key_hash = encode(digest(%s, 'sha256'), 'hex') "
        "AND revoked_at IS NULL",
        (key,),
    )
    assert key not in str(snapshot(migrated))  # only the hash is stored


def test_seeds_twice_leave_the_same_rows(migrated: str):
    first = run_seeds(migrated, SEEDS, VARIABLES)
    before = snapshot(migrated)
    again = run_seeds(migrated, SEEDS, VARIABLES)  # unchanged: skipped
    assert again.applied == [] and again.skipped == ALL and again.dev_api_key is None
    forced = run_seeds(migrated, SEEDS, VARIABLES, force=True)  # the SQL itself, again
    assert forced.applied == ALL and forced.dev_api_key is None
    after = snapshot(migrated)
    assert after == before  # same count, same content, password hash not rotated
    assert first.dev_api_key is not None


def test_edited_seed_data_is_applied(migrated: str, seeds_copy: Path):
    run_seeds(migrated, seeds_copy, VARIABLES)
    path = seeds_copy / "004_model_mappings.sql"
    path.write_text(path.read_text().replace("'mock-gpt', true)", "'mock-gpt-2024', false)"))
    assert pending_seeds(migrated, seeds_copy) == ["004_model_mappings"]
    report = run_seeds(migrated, seeds_copy, VARIABLES)
    assert report.applied == ["004_model_mappings"]
    rows = query(migrated, "SELECT public_name, backend_model, enabled FROM model_mappings")
    assert rows == [("mock-gpt", "mock-gpt-2024", False)]


def test_changed_variables_are_applied_without_rotating_what_did_not_change(migrated: str):
    run_seeds(migrated, SEEDS, VARIABLES)
    old_hash = scalar(migrated, "SELECT password_hash FROM users")
    renamed = {**VARIABLES, "org_name": "Renamed Org"}
    assert pending_seeds(migrated, SEEDS, renamed) == ALL
    run_seeds(migrated, SEEDS, renamed)
    assert scalar(migrated, "SELECT name FROM organizations") == "Renamed Org"
    assert scalar(migrated, "SELECT password_hash FROM users") == old_hash  # same password

    run_seeds(migrated, SEEDS, {**renamed, "admin_password": "a new password"})
    new_hash = scalar(migrated, "SELECT password_hash FROM users")
    assert new_hash != old_hash
    assert scalar(migrated, "SELECT crypt('a new password', %s) = %s", (new_hash, new_hash))
    assert scalar(migrated, "SELECT count(*) FROM users") == 1


def test_given_dev_api_key_is_stored_and_followed(migrated: str):
    key = "ias_dev_given_by_the_developer_0001"
    report = run_seeds(migrated, SEEDS, {**VARIABLES, "dev_api_key": key})
    assert report.dev_api_key == key
    assert (
        scalar(migrated, "SELECT key_hash FROM api_keys")
        == hashlib.sha256(key.encode()).hexdigest()
    )
    assert (
        run_seeds(migrated, SEEDS, {**VARIABLES, "dev_api_key": key}, force=True).dev_api_key
        is None
    )

    other = "ias_dev_given_by_the_developer_0002"
    assert run_seeds(migrated, SEEDS, {**VARIABLES, "dev_api_key": other}).dev_api_key == other
    assert scalar(migrated, "SELECT count(*) FROM api_keys") == 1
    assert scalar(migrated, "SELECT key_prefix FROM api_keys") == other[:12]


def test_generated_key_is_kept_on_later_runs(migrated: str):
    first = run_seeds(migrated, SEEDS, VARIABLES).dev_api_key
    stored = scalar(migrated, "SELECT key_hash FROM api_keys")
    assert run_seeds(migrated, SEEDS, {**VARIABLES, "org_name": "X"}).dev_api_key is None
    assert scalar(migrated, "SELECT key_hash FROM api_keys") == stored
    assert hashlib.sha256(first.encode()).hexdigest() == stored


def test_seed_error_names_file_and_line(migrated: str):
    with pytest.raises(MigrationError) as err:
        run_seeds(migrated, SEEDS, {**VARIABLES, "admin_password": ""})
    message = str(err.value)
    assert message.startswith("Seed ") and "002_admin_user.sql failed at line 8" in message
    assert "admin_password is empty" in message and "Hint:" in message
    assert scalar(migrated, "SELECT count(*) FROM users") == 0


def test_seeds_before_migrations_fail_clearly(database: str):
    with pytest.raises(MigrationError) as err:
        run_seeds(database, SEEDS, VARIABLES)
    assert "001_bootstrap_org.sql failed at line 4" in str(err.value)
    assert 'relation "organizations" does not exist' in str(err.value)
