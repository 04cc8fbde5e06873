"""Session settings every migration and seed connection starts with.

A user's database may default to any server encoding, TimeZone, DateStyle or
IntervalStyle (initdb arguments, ALTER DATABASE/ROLE ... SET, postgresql.conf). What
the provisioner reads back (checksums, timestamps) and what seeds compute must not
depend on them, or a second run would see changes that are not there: on a SQL_ASCII
database, for one, text arrives as bytes unless the client encoding is UTF8.

They are startup options, not SET commands, so that `RESET ALL` before each file
returns to them; they take precedence over database and role defaults. search_path is
left alone: the schema objects go where the database's own search_path puts them, and
the bookkeeping tables are schema-qualified.
"""

from __future__ import annotations

from psycopg.conninfo import conninfo_to_dict

SESSION_SETTINGS: dict[str, str] = {
    "DateStyle": "ISO, YMD",
    "IntervalStyle": "postgres",
    "TimeZone": "UTC",
}
CLIENT_ENCODING = "UTF8"


def _quote_option_value(value: str) -> str:
    """libpq splits `options` on spaces; a backslash keeps one inside a value."""
    return value.replace("\\", "\\\\").replace(" ", "\\ ")


def session_params(dsn: str) -> dict[str, str]:
    """Connection keywords that pin the settings, keeping any `options` the DSN has."""
    given = str(conninfo_to_dict(dsn).get("options") or "")
    ours = " ".join(f"-c {k}={_quote_option_value(v)}" for k, v in SESSION_SETTINGS.items())
    return {
        "client_encoding": CLIENT_ENCODING,
        "options": f"{given} {ours}".strip(),
    }
