"""Secrets never printed: values of secret-looking keys and passwords inside URLs."""

from __future__ import annotations

import pytest

from provisioner.masking import MASK, is_secret_key, mask_text, mask_value


@pytest.mark.parametrize(
    "key",
    [
        "POSTGRES_PASSWORD",
        "password",
        "RABBITMQ_DEFAULT_PASS",
        "DB_PASSWD",
        "CLIENT_SECRET",
        "GITHUB_TOKEN",
        "API_KEY",
        "api-key",
        "OPENAI_APIKEY",
        "PRIVATE_KEY",
        "AWS_CREDENTIALS",
    ],
)
def test_secret_keys(key):
    assert is_secret_key(key)
    assert mask_value(key, "s3cr3t") == MASK


@pytest.mark.parametrize("key", ["POSTGRES_USER", "IMAGE", "PORT", "MODEL_NAME", "KEYSPACE"])
def test_ordinary_keys(key):
    assert not is_secret_key(key)
    assert mask_value(key, "plain") == "plain"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "postgres://ias:dev_password@localhost:5432/db",
            f"postgres://ias:{MASK}@localhost:5432/db",
        ),
        ("amqp://guest:guest@rabbit/", f"amqp://guest:{MASK}@rabbit/"),
        ("redis://:pw@localhost:6379", f"redis://:{MASK}@localhost:6379"),
        (
            "see postgres://a:b@h/x and amqp://c:d@h/",
            f"see postgres://a:{MASK}@h/x and amqp://c:{MASK}@h/",
        ),
        ("http://localhost:8000/health", "http://localhost:8000/health"),
        ("postgres://user@localhost/db", "postgres://user@localhost/db"),
        ("no url here: a:b@c", "no url here: a:b@c"),
    ],
)
def test_url_passwords(text, expected):
    assert mask_text(text) == expected


def test_nested_values():
    value = {
        "PASSWORD": "x",
        "URL": "postgres://u:p@h/db",
        "list": ["amqp://u:p@h/", "plain"],
        "n": 5,
    }
    assert mask_value("environment", value) == {
        "PASSWORD": MASK,
        "URL": f"postgres://u:{MASK}@h/db",
        "list": [f"amqp://u:{MASK}@h/", "plain"],
        "n": 5,
    }


def test_secret_key_masks_any_value_type_but_not_empty_or_none():
    assert mask_value("TOKEN", 12345) == MASK
    assert mask_value("TOKEN", {"a": 1}) == MASK
    assert mask_value("TOKEN", "") == ""
    assert mask_value("TOKEN", None) is None


def test_show_reveals():
    assert mask_value("PASSWORD", "x", show=True) == "x"
    assert mask_value("URL", "postgres://u:p@h/db", show=True) == "postgres://u:p@h/db"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgres://u:p@ss@h/db", f"postgres://u:{MASK}@h/db"),
        ("postgres://u:pa/ss@h:5432/db", f"postgres://u:{MASK}@h:5432/db"),
        ("amqp://u:p@h/vhost?x=a@b", f"amqp://u:{MASK}@h/vhost?x=a@b"),
    ],
)
def test_unescaped_at_or_slash_in_url_password_is_not_leaked(text, expected):
    assert mask_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("redis-server --requirepass hunter2", f"redis-server --requirepass {MASK}"),
        ("app --password=s3cret --port 80", f"app --password={MASK} --port 80"),
        ("app --api-key 'a b c' -v", f"app --api-key {MASK} -v"),
        ("app --token-file /run/x", f"app --token-file {MASK}"),
        ("app --port 80 --verbose --name x", "app --port 80 --verbose --name x"),
        ("app --password --verbose", "app --password --verbose"),  # a switch, no value
    ],
)
def test_secret_flags_in_command_strings(text, expected):
    assert mask_text(text) == expected


def test_secret_flags_in_command_lists():
    argv = ["redis-server", "--requirepass", "hunter2", "--port", "6379", "--appendonly", "yes"]
    assert mask_value("command", argv) == [
        "redis-server",
        "--requirepass",
        MASK,
        "--port",
        "6379",
        "--appendonly",
        "yes",
    ]
    assert mask_value("command", ["app", "--password=x"]) == ["app", f"--password={MASK}"]
    assert mask_value("command", argv, show=True) == argv


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("password=ab,cd", f"password={MASK}"),
        ("password=ab;cd", f"password={MASK}"),
        ("host=h password=ab,cd user=u", f"host=h password={MASK} user=u"),
        ("a=1,password=x,y", f"a=1,password={MASK}"),  # an ordinary pair swallows nothing
        ("db?sslmode=disable&password=p,q&x=1", f"db?sslmode=disable&password={MASK}&x=1"),
        ("password = 'a b,c' port=1", f"password = {MASK} port=1"),
        ('PGPASSWORD="x y" psql', f"PGPASSWORD={MASK} psql"),
        ("keyspace=a,b", "keyspace=a,b"),
        (
            "line 2: expected KEY=VALUE, got 'PASSWORD=\"ab'.",
            f"line 2: expected KEY=VALUE, got 'PASSWORD={MASK}",
        ),
    ],
)
def test_key_value_secrets_are_masked_whole(text, expected):
    assert mask_text(text) == expected
