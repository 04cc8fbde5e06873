"""The probe's last error in words a person understands. Pure: a table per probe type.

The raw text (`IncompatibleProtocolError: StreamLostError: ...`) stays available for
the failure message after the timeout; this is for the "still waiting" line.
"""

from __future__ import annotations

import re

# (probe type or "*", pattern searched in the raw error, words). First match wins;
# "*" rows apply to every probe type after its own rows.
_TABLE: list[tuple[str, str, str]] = [
    (
        "amqp",
        r"ProbeAuthenticationError|ACCESS_REFUSED|AuthenticationError",
        "RabbitMQ refuses the login (user or password, or it is still creating the user)",
    ),
    (
        "amqp",
        r"IncompatibleProtocolError|StreamLostError|ConnectionClosedByBroker|"
        r"ConnectionResetError|Connection reset",
        "RabbitMQ is starting (AMQP not accepting connections yet)",
    ),
    (
        "amqp",
        r"ConnectionRefused|Connection refused|AMQPConnectionError|nothing listening",
        "RabbitMQ is starting (AMQP port not open yet)",
    ),
    (
        "postgres",
        r"starting up|not yet accepting connections",
        "PostgreSQL is starting (the database system is starting up)",
    ),
    ("postgres", r"shutting down", "PostgreSQL is restarting after its first-run initialisation"),
    (
        "postgres",
        r"password authentication failed|role .* does not exist",
        "PostgreSQL refuses the login (user or password; an existing volume keeps old ones)",
    ),
    (
        "postgres",
        r'database ".*" does not exist',
        "PostgreSQL is up but the database does not exist yet",
    ),
    (
        "postgres",
        r"Connection refused|server closed the connection|connection failed|"
        r"Connection reset|nothing listening",
        "PostgreSQL is starting (not accepting connections yet)",
    ),
    (
        "redis",
        r"loading the dataset|BusyLoadingError|LOADING",
        "Redis is loading its data from disk",
    ),
    (
        "redis",
        r"NOAUTH|WRONGPASS|AuthenticationError|invalid password",
        "Redis refuses the password",
    ),
    (
        "redis",
        r"Error 111|Connection refused|Connection closed|Connection reset|"
        r"nothing listening|ConnectionError|TimeoutError",
        "Redis is starting (not accepting connections yet)",
    ),
    ("http", r"answered (\d+)", "the HTTP endpoint answers {1} (not the expected status yet)"),
    ("http", r"body does not contain", "the HTTP endpoint answers, but not with the expected body"),
    (
        "http",
        r"ConnectionRefused|Connection refused|RemoteDisconnected|ConnectionReset|"
        r"Connection reset|BadStatusLine|nothing listening",
        "the HTTP server is starting (not answering yet)",
    ),
    (
        "tcp",
        r"ConnectionRefused|Connection refused|nothing listening|Connection reset",
        "nothing is listening on the port yet",
    ),
    ("exec", r"command exited with (\d+)", "the check command inside the container exits {1}"),
    ("*", r"container is (\w+)", "the container is {1}"),
    ("*", r"no probe attempt yet", "waiting for the first probe"),
    (
        "*",
        r"not published and the container has no address",
        "the container has no network address yet",
    ),
    ("*", r"TimeoutError|timed out|timeout", "the service does not answer in time (busy starting)"),
]
_COMPILED = [(kind, re.compile(pattern, re.I), words) for kind, pattern, words in _TABLE]


def in_words(probe_type: str | None, raw: str) -> str:
    """Words for `raw`; the raw text itself, shortened, when no row matches."""
    for rows_for in (probe_type or "", "*"):
        for kind, pattern, words in _COMPILED:
            if kind != rows_for:
                continue
            match = pattern.search(raw)
            if match:
                return words.replace("{1}", match.group(1)) if "{1}" in words else words
    text = raw.strip().splitlines()[0] if raw.strip() else "not healthy yet"
    return text if len(text) <= 80 else text[:77] + "..."
