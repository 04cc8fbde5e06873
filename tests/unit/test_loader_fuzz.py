"""Property tests: whatever document the loader is fed, only a SpecError (or success) comes out.

Two generators: YAML-ish documents built from values (random, and near-valid stacks that
use the real schema's keys with random values), and arbitrary text (random characters,
tabs, braces, `${`, anchors and aliases). A counter records how many documents were tried.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner.errors import SpecError
from provisioner.stackfile.loader import load_stack

TRIED = {"documents": 0, "text": 0, "loaded": 0, "spec_errors": 0}

_WORKDIR = Path(tempfile.mkdtemp(prefix="provisioner-fuzz-"))
_STACK = _WORKDIR / "stack.yaml"

# ---- value strategies ------------------------------------------------------------------

SERVICE_KEYS = [
    "image",
    "build",
    "pull_policy",
    "command",
    "entrypoint",
    "environment",
    "ports",
    "volumes",
    "networks",
    "depends_on",
    "healthcheck",
    "restart",
    "labels",
    "hostname",
    "user",
    "stop_grace_period",
    "urls",
]
PROBE_KEYS = ["type", "port", "path", "status", "body", "user", "password", "database"]
PROBE_KEYS += ["vhost", "command", "timeout"]
TOP_KEYS = ["project", "services", "networks", "volumes", "migrations", "seeds"]

interesting_text = st.sampled_from(
    [
        "",
        "x",
        "redis:7",
        "80:80",
        "127.0.0.1:80:80",
        "[::1]:80:80/udp",
        "99999:80",
        "data:/data",
        "./dir:/dir:ro",
        "/var/run/docker.sock:/var/run/docker.sock",
        "a:b:c:d",
        "30s",
        "500ms",
        "-1s",
        "2m",
        "nan",
        "inf",
        "1e400",
        "${X}",
        "${X:-d}",
        "${X:?msg}",
        "$$",
        "$",
        "${",
        "${X:-${Y}}",
        "KEY=VALUE",
        "=",
        "tcp",
        "http",
        "postgres",
        "redis",
        "amqp",
        "exec",
        "service_healthy",
        "healthy",
        "started",
        "no",
        "always",
        "unless-stopped",
        "a",
        "b",
        "default",
    ]
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.integers(min_value=-5, max_value=70000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    interesting_text,
)
keys = st.one_of(
    st.sampled_from(SERVICE_KEYS + PROBE_KEYS + TOP_KEYS + ["a", "b", "x"]),
    st.text(max_size=8),
    st.integers(min_value=-3, max_value=3),
    st.booleans(),
    st.none(),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)
    ),
    max_leaves=8,
)


def _partial(keys_list: list[str], value_strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.dictionaries(st.sampled_from(keys_list), value_strategy, max_size=len(keys_list))


probe = st.one_of(
    _partial(PROBE_KEYS, st.one_of(interesting_text, scalars)),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["tcp", "http", "postgres", "redis", "amqp", "exec", "x"])},
        optional={"port": scalars, "timeout": scalars, "command": values},
    ),
)
service_value = st.one_of(
    interesting_text, scalars, values, probe, st.lists(interesting_text, max_size=3)
)
service = st.one_of(
    _partial(SERVICE_KEYS, service_value),
    st.fixed_dictionaries(
        {"image": st.one_of(st.just("redis:7"), interesting_text)},
        optional={
            "ports": st.lists(st.one_of(interesting_text, scalars, values), max_size=3),
            "volumes": st.lists(st.one_of(interesting_text, values), max_size=3),
            "environment": st.one_of(
                st.dictionaries(st.text(max_size=5), scalars, max_size=3),
                st.lists(interesting_text, max_size=3),
            ),
            "depends_on": st.one_of(
                st.lists(st.sampled_from(["a", "b", "c"]), max_size=3),
                st.dictionaries(
                    st.sampled_from(["a", "b", "c"]),
                    st.one_of(st.none(), values, st.fixed_dictionaries({"condition": scalars})),
                    max_size=3,
                ),
            ),
            "healthcheck": probe,
            "restart": scalars,
            "stop_grace_period": scalars,
            "build": st.one_of(interesting_text, values),
        },
    ),
)
near_valid_stack = st.fixed_dictionaries(
    {
        "project": st.one_of(st.just("demo"), interesting_text, scalars),
        "services": st.one_of(
            st.dictionaries(st.sampled_from(["a", "b", "c", "Bad Name"]), service, max_size=3),
            values,
        ),
    },
    optional={
        "volumes": st.one_of(
            st.dictionaries(st.sampled_from(["data", "a", "x"]), st.none(), max_size=3), values
        ),
        "networks": values,
        "migrations": st.one_of(_partial(["service", "path", "database_url"], scalars), values),
        "seeds": values,
        "service": values,
    },
)
valid_service = st.fixed_dictionaries(
    {"image": st.sampled_from(["redis:7", "postgres:15", "${IMAGE:-x}"])},
    optional={
        "ports": st.lists(st.sampled_from(["80", "8080:80", "127.0.0.1:9000:90/udp"]), max_size=2),
        "environment": st.one_of(
            st.dictionaries(st.sampled_from(["A", "B", "PASSWORD"]), scalars, max_size=3),
            st.lists(st.sampled_from(["A=1", "B=${X:-2}", "C="]), max_size=3),
        ),
        "volumes": st.lists(st.sampled_from(["data:/data", "./conf:/conf:ro"]), max_size=1),
        "depends_on": st.sampled_from([["a"], {"a": {"condition": "service_healthy"}}, {}]),
        "healthcheck": st.sampled_from(
            [{"type": "tcp", "port": 80}, {"type": "exec", "command": "true"}, {"type": "redis"}]
        ),
        "restart": st.sampled_from(["no", "always", False]),
        "stop_grace_period": st.sampled_from(["1s", 5, "500ms", 0.5]),
    },
)


@st.composite
def valid_then_broken(draw: st.DrawFn) -> dict:
    """A stack that is valid, or valid but for one value replaced at a random place."""
    doc = {
        "project": "demo",
        "services": {"a": {"image": "x"}, "b": draw(valid_service)},
        "volumes": {"data": None},
    }
    if draw(st.booleans()):
        node: dict | list = doc
        while True:
            slots = list(node.keys()) if isinstance(node, dict) else list(range(len(node)))
            if not slots:
                break
            slot = draw(st.sampled_from(slots))
            child = node[slot]
            if isinstance(child, dict | list) and child and draw(st.booleans()):
                node = child
                continue
            node[slot] = draw(values)
            break
    return doc


documents = st.one_of(valid_then_broken(), values, near_valid_stack, _partial(TOP_KEYS, values))


def _load(text: str, environ: dict[str, str]) -> None:
    _STACK.write_text(text, encoding="utf-8")
    try:
        load_stack([_STACK], environ=environ)
        TRIED["loaded"] += 1
    except SpecError as err:
        TRIED["spec_errors"] += 1
        message = str(err)
        assert message.strip(), "a SpecError must say something"
        assert "Traceback" not in message
        assert str(_STACK) in message, f"the message does not name the file: {message}"


# No example database: runs stay independent of earlier runs and write nothing to the repo.
COMMON = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
ENVIRONS = st.sampled_from([{}, {"X": "1", "Y": ""}])


@settings(max_examples=700, **COMMON)
@given(document=documents, environ=ENVIRONS, flow=st.booleans())
def test_generated_documents_give_spec_error_or_load(document, environ, flow):
    TRIED["documents"] += 1
    try:
        text = yaml.safe_dump(document, default_flow_style=flow, allow_unicode=True)
    except (yaml.YAMLError, ValueError):  # pragma: no cover - e.g. lone surrogates
        return
    _load(text, environ)


fragments = st.sampled_from(
    [
        "\t",
        "{",
        "}",
        "[",
        "]",
        "${",
        "${X}",
        "${X:?boom}",
        "$",
        "&a ",
        "*a",
        "<<: *a\n",
        "!!int ",
        "!!timestamp ",
        "!!map ",
        "!!seq ",
        "!!binary ",
        "!!python/object ",
        "? ",
        ": ",
        "- ",
        "\n",
        "\n  ",
        "#",
        "'",
        '"',
        "|\n",
        ">\n",
        "---\n",
        "...\n",
        "%YAML 1.1\n",
        "project: demo\n",
        "services:\n",
        "  a:\n",
        "    image: x\n",
        "    ports: ",
        "    healthcheck: ",
        "    depends_on: ",
        "\x00",
        "\ufeff",
    ]
)
VALID = (
    "project: demo\n"
    "services:\n"
    "  db:\n"
    "    image: ${IMAGE:-postgres:15}\n"
    "    environment: {POSTGRES_PASSWORD: secret}\n"
    "    ports: ['5432:5432']\n"
    "    volumes: [data:/var/lib/postgresql/data]\n"
    "    healthcheck: {type: postgres, timeout: 30s}\n"
    "  web:\n"
    "    build: ./web\n"
    "    depends_on: {db: {condition: service_healthy}}\n"
    "volumes:\n"
    "  data:\n"
)


@st.composite
def mutated_valid(draw: st.DrawFn) -> str:
    """The valid stack above with a few insertions, deletions or replacements."""
    text = VALID
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        start = draw(st.integers(min_value=0, max_value=len(text)))
        end = draw(st.integers(min_value=start, max_value=min(len(text), start + 8)))
        insert = draw(st.one_of(fragments, st.text(max_size=4), st.just("")))
        text = text[:start] + insert + text[end:]
    return text


raw_text = st.one_of(
    mutated_valid(),
    mutated_valid(),
    st.text(max_size=200),
    st.lists(st.one_of(fragments, st.text(max_size=6)), max_size=30).map("".join),
    st.binary(max_size=200).map(lambda b: b.decode("utf-8", errors="replace")),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
)


@settings(max_examples=1000, **COMMON)
@given(text=raw_text, environ=ENVIRONS)
def test_arbitrary_text_gives_spec_error_or_load(text, environ):
    TRIED["text"] += 1
    try:
        _load(text, environ)
    except UnicodeEncodeError:  # lone surrogates cannot be written as UTF-8
        return


@pytest.fixture(scope="module", autouse=True)
def _report_count():
    yield
    total = TRIED["documents"] + TRIED["text"]
    print(
        f"\nloader fuzz: {total} documents tried "
        f"({TRIED['documents']} generated, {TRIED['text']} text; "
        f"{TRIED['loaded']} loaded, {TRIED['spec_errors']} SpecError)"
    )
