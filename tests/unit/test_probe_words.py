"""The probe's last error in words, per probe type (the strings are what the clients raise)."""

from __future__ import annotations

import pytest

from provisioner.core.probe_words import in_words

CASES = [
    (
        "amqp",
        'IncompatibleProtocolError: StreamLostError: ("Stream connection lost: '
        "ConnectionResetError(104, 'Connection reset by peer')\",)",
        "RabbitMQ is starting (AMQP not accepting connections yet)",
    ),
    ("amqp", "AMQPConnectionError: ", "RabbitMQ is starting (AMQP port not open yet)"),
    (
        "amqp",
        "ProbeAuthenticationError: (403, 'ACCESS_REFUSED - Login was refused')",
        "RabbitMQ refuses the login (user or password, or it is still creating the user)",
    ),
    (
        "postgres",
        "OperationalError: connection failed: FATAL:  the database system is starting up",
        "PostgreSQL is starting (the database system is starting up)",
    ),
    (
        "postgres",
        "OperationalError: connection failed: connection to server at "
        '"127.0.0.1", port 5432 failed: Connection refused',
        "PostgreSQL is starting (not accepting connections yet)",
    ),
    (
        "postgres",
        "OperationalError: connection failed: FATAL:  password authentication "
        'failed for user "app"',
        "PostgreSQL refuses the login (user or password; an existing volume keeps old ones)",
    ),
    (
        "redis",
        "ConnectionError: Error 111 connecting to 127.0.0.1:6379. Connection refused.",
        "Redis is starting (not accepting connections yet)",
    ),
    (
        "redis",
        "BusyLoadingError: Redis is loading the dataset in memory",
        "Redis is loading its data from disk",
    ),
    (
        "http",
        "GET /health answered 503, expected 200",
        "the HTTP endpoint answers 503 (not the expected status yet)",
    ),
    (
        "http",
        "RemoteDisconnected: Remote end closed connection without response",
        "the HTTP server is starting (not answering yet)",
    ),
    (
        "tcp",
        "connection closed at once (nothing listening yet)",
        "nothing is listening on the port yet",
    ),
    ("exec", "command exited with 1: not ready", "the check command inside the container exits 1"),
    (None, "container is restarting", "the container is restarting"),
]


@pytest.mark.parametrize(("probe", "raw", "words"), CASES)
def test_known_errors_in_words(probe, raw, words):
    assert in_words(probe, raw) == words


def test_rows_are_per_probe_type():
    # The same "Connection refused" reads differently for RabbitMQ and for Redis.
    raw = "ConnectionRefusedError: [Errno 111] Connection refused"
    assert in_words("amqp", raw).startswith("RabbitMQ")
    assert in_words("redis", raw).startswith("Redis")
    assert in_words("tcp", raw) == "nothing is listening on the port yet"


def test_unknown_error_is_kept_short():
    assert in_words("amqp", "SomethingNew: " + "x" * 200).endswith("...")
    assert len(in_words("amqp", "SomethingNew: " + "x" * 200)) == 80
    assert in_words("redis", "Weird: thing\nsecond line") == "Weird: thing"
