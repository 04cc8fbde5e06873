"""Unit tests of the pure pieces: tokenizer, schema value generator, shaping, config."""

from __future__ import annotations

import random
import subprocess
import sys

import jsonschema
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mock_support import REPO, RecordingSink

from mock_inference import schema_values
from mock_inference.config import Settings
from mock_inference.textgen import FillerReply, Prompt, shape
from mock_inference.tokenizer import count, tokenize


@given(st.text())
def test_tokens_concatenate_back_to_the_text(text: str) -> None:
    pieces = tokenize(text)
    assert "".join(pieces) == text
    assert count(text) == len(pieces)


@given(st.integers(min_value=0, max_value=300), st.integers())
def test_filler_has_exactly_n_tokens(n: int, seed: int) -> None:
    text = FillerReply(n).reply(Prompt("", ""), random.Random(seed))
    assert count(text) == n


def test_shape_stop_and_length() -> None:
    assert shape("a b c d", 2, ()).text == "a b"
    assert shape("a b c d", 2, ()).finish_reason == "length"
    assert shape("a b STOP c", None, ("STOP",)).text == "a b "
    assert shape("a b STOP c", None, ("STOP",)).finish_reason == "stop"
    assert shape("a b STOP c", 1, ("STOP",)).finish_reason == "length"
    assert shape("a b", 2, ()).finish_reason == "stop"


SCHEMAS = [
    {"type": "object", "properties": {"a": {"type": "string", "pattern": "^x"}}},
    {"type": "array", "items": {"type": "integer", "multipleOf": 5, "minimum": 7}, "minItems": 4},
    {"type": ["string", "null"], "minLength": 5, "maxLength": 6},
    {"type": "number", "exclusiveMinimum": 1, "exclusiveMaximum": 2},
    {"type": "integer", "exclusiveMinimum": 1, "exclusiveMaximum": 3},
    {"enum": ["x", 3, None]},
    {"const": {"k": 1}},
    {"allOf": [{"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
               {"properties": {"b": {"type": "boolean"}}, "required": ["b"]}]},
    {"oneOf": [{"type": "null"}, {"type": "object", "properties": {"z": {"type": "string"}},
                                  "required": ["z"]}]},
    {"type": "object", "required": ["free"], "additionalProperties": {"type": "integer"}},
    {"type": "string", "format": "uuid"},
    {"type": "string", "format": "date-time"},
    {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}], "minItems": 2},
    {"type": "object", "properties": {"tree": {"$ref": "#"}}},  # recursive
]  # fmt: skip


@pytest.mark.parametrize("schema", SCHEMAS)
@pytest.mark.parametrize("seed", range(5))
def test_generated_values_validate(schema: dict, seed: int) -> None:
    value = schema_values.generate(schema, random.Random(seed))
    if schema.get("properties", {}).get("a", {}).get("pattern"):
        schema = {**schema, "properties": {"a": {"type": "string"}}}  # patterns: not supported
    jsonschema.validate(value, schema)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5) | st.sampled_from(["object", "array", "string", "#", "#/$defs/a"]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(
        st.sampled_from(["type", "properties", "required", "items", "minItems", "maxItems",
                         "minLength", "enum", "anyOf", "allOf", "$ref", "$defs", "minimum",
                         "multipleOf", "additionalProperties", "a"]),
        inner, max_size=4,
    ),
    max_leaves=12,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(JSONISH)
def test_hostile_schemas_never_raise(schema: object) -> None:
    out = schema_values.generate_json(schema, random.Random(0))
    orjson.loads(out)


def test_settings_from_env_validates() -> None:
    assert Settings.from_env({}).model_name == "mock-gpt"
    env = {"MODEL_NAME": "m", "SERVED_MODELS": "a, m ,b", "ACCEPT_UNKNOWN_MODELS": "no"}
    s = Settings.from_env(env)
    assert s.models == ("m", "a", "b") and not s.accept_unknown_models
    with pytest.raises(ValueError, match="MOCK_REPLY_MODE"):
        Settings.from_env({"MOCK_REPLY_MODE": "poetry"})
    with pytest.raises(ValueError, match="MOCK_SCRIPT_FILE"):
        Settings.from_env({"MOCK_REPLY_MODE": "script"})
    with pytest.raises(ValueError, match="number"):
        Settings.from_env({"MOCK_TTFT_MS": "soon"})
    with pytest.raises(ValueError):
        Settings.from_env({"MOCK_FAULT_429_RATE": "0.8", "MOCK_FAULT_500_RATE": "0.5"})


def test_cli_reports_bad_config_and_exits_2() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mock_inference", "--port", "1"],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "MOCK_REPLY_MODE": "nope"},
        capture_output=True,
        timeout=20,
    )
    assert proc.returncode == 2
    assert b"MOCK_REPLY_MODE" in proc.stderr


@pytest.mark.parametrize(("name", "value"), [("MOCK_WORKERS", "two"), ("MOCK_PORT", "http")])
def test_bad_numbers_in_the_environment_are_a_usage_error(monkeypatch, capsys, name, value):
    from mock_inference.__main__ import parse_args

    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exc:
        parse_args([])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"invalid int value: '{value}'" in err or f"or 'auto', got '{value}'" in err


def _samples(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def test_merged_metrics_equal_one_process_seeing_everything():
    from mock_inference.metrics import Metrics, merge

    parts = [Metrics("m") for _ in range(3)]
    whole = Metrics("m")
    events = [
        (0, "/v1/chat/completions", 200, 0.003, "stop"),
        (1, "/v1/chat/completions", 200, 0.2, "length"),
        (1, "/v1/embeddings", 400, 0.01, None),
        (2, "/v1/completions", 503, 1.5, None),
        (2, "/v1/chat/completions", 200, 0.04, "stop"),
    ]
    for i, route, status, seconds, reason in events:
        for m in (parts[i], whole):
            m.http[(route, status)] += 1
            m.ttft.observe(seconds)
            if reason:
                m.finished(7, 11, reason, seconds * 2)
    parts[1].running = 2
    whole.running = 2
    merged = merge([p.render() for p in parts])
    assert _samples(merged) == pytest.approx(_samples(whole.render()))
    # Every family keeps its HELP and TYPE lines once.
    assert merged.count("# TYPE mock_http_requests_total counter") == 1
    assert merged.index("# HELP vllm:num_requests_running") < merged.index(
        "vllm:num_requests_running{"
    )


def test_stop_schedule_repeats_sigterm_once_then_kills() -> None:
    from mock_inference.supervisor import StopSchedule

    schedule = StopSchedule(resend_after=1.2, kill_after=10.0)
    timeline = [(100.0, "wait"), (101.0, "wait"), (101.3, "resend"), (102.0, "wait")]
    timeline += [(109.9, "wait"), (110.1, "kill"), (111.0, "kill")]
    assert [schedule.due(now) for now, _ in timeline] == [due for _, due in timeline]


def _turn(text: str) -> object:
    from mock_inference.choices import Choice
    from mock_inference.tokenizer import tokenize
    from mock_inference.turn import Turn

    pieces = tuple(tokenize(text))
    return Turn([Choice(0, text, pieces, "stop", None, len(pieces))], prompt_tokens=7)


def test_responses_stream_is_a_pure_function_of_the_turn() -> None:
    from mock_inference.state import State
    from mock_inference.wire.responses import Rendered, ResponsesStream
    from mock_inference.wire.responses_request import decode

    turn = _turn("Hello there, friend.")
    req = decode({"input": "hi", "store": False}, "mock-gpt", None)
    stream = ResponsesStream(State(Settings()), Rendered(req, turn))  # type: ignore[arg-type]
    raw = [*stream.preamble(), *stream.opening()]
    for k in range(turn.steps):  # type: ignore[attr-defined]
        raw += stream.step(k)
    raw += stream.closing()
    events = [orjson.loads(chunk.split(b"\ndata: ", 1)[1]) for chunk in raw]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    deltas = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert deltas == "Hello there, friend."
    assert events[-1]["type"] == "response.completed"
    assert events[-1]["response"]["usage"]["input_tokens"] == 7


@pytest.mark.parametrize("text", ["one two three four five", "one", ""])
def test_play_fails_at_the_one_fail_point_and_counts_it(text: str) -> None:
    import asyncio
    import time

    from mock_inference import validation
    from mock_inference.flow import fail_point, play
    from mock_inference.metrics import Metrics
    from mock_inference.timing import Timing
    from mock_inference.wire.chat import ChatStream

    turn = _turn(text)
    req = validation.chat({"messages": [{"role": "user", "content": "x"}]}, "m")
    metrics = Metrics("m")
    sink = RecordingSink()
    encoder = ChatStream(req, turn)  # type: ignore[arg-type]
    asyncio.run(play(sink, encoder, turn, Timing(0, 0), True, metrics, time.perf_counter()))  # type: ignore[arg-type]
    tokens = [s for s in sink.sent if b'"content":"' in s and b'"content":""' not in s]
    assert len(tokens) == fail_point(len(text.split()))
    assert b'"error"' in sink.sent[-1]
    assert metrics.stream_errors == 1 and not metrics.success
