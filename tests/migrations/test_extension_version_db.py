"""An extension older than the TimescaleDB library: a clear stop before any migration.

An older extension version cannot be installed here (the image has only 2.28.3's
library and install script), so the real-server test fakes the installed version the
check reads; the comparison and the message are the code under test.
"""

from __future__ import annotations

import pytest

from provisioner.database import timescale_version
from provisioner.database.migrations import TRACKING_TABLE, migrate_up
from provisioner.database.timescale_version import outdated_message, version_key
from provisioner.errors import MigrationError
from tests.support.postgres import MIGRATIONS, scalar

timescale_only = pytest.mark.parametrize("server_kind", ["timescaledb"], indirect=True)


def test_version_key_orders_numerically():
    assert version_key("2.9.3") < version_key("2.10.0") < version_key("2.28.3")
    assert version_key("2.28.3-dev") == version_key("2.28.3")


def test_message_only_when_older():
    assert outdated_message("app", "2.28.3", "2.28.3") is None
    assert outdated_message("app", "2.29.0", "2.28.3") is None
    message = outdated_message("app", "2.14.2", "2.28.3")
    assert message is not None
    assert "version 2.14.2, older than the TimescaleDB 2.28.3" in message
    assert "ALTER EXTENSION timescaledb UPDATE" in message and "\n" not in message


@pytest.mark.docker
@timescale_only
def test_current_extension_passes(database: str):
    assert [m.version for m in migrate_up(database, MIGRATIONS).applied][-1] == 7


@pytest.mark.docker
@timescale_only
def test_older_extension_stops_before_any_migration(database: str, monkeypatch):
    installed = scalar(
        database, "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
    )
    assert installed == "2.28.3"
    # What pg_extension says after an image upgrade under an old volume.
    monkeypatch.setattr(
        timescale_version,
        "_QUERY",
        timescale_version._QUERY.replace("SELECT e.extversion,", "SELECT '2.14.2'::text,"),
    )
    with pytest.raises(MigrationError) as err:
        migrate_up(database, MIGRATIONS)
    message = str(err.value)
    assert "is version 2.14.2, older than the TimescaleDB 2.28.3" in message
    assert "ALTER EXTENSION timescaledb UPDATE" in message
    assert database.rsplit("/", 1)[1] in message
    assert scalar(database, "SELECT to_regclass(%s)::text", (TRACKING_TABLE,)) is None
