"""Pure units of the Messages API (decoder, turn, encoder, its stream on the shared path)
and of the worker count."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
import pytest
from mock_support import RecordingSink

from mock_inference import cpus
from mock_inference.errors import APIError
from mock_inference.flow import play
from mock_inference.messages import decode, encode
from mock_inference.messages.endpoint import MessagesStream
from mock_inference.messages.turn import Block, Turn, build
from mock_inference.metrics import Metrics
from mock_inference.textgen import FillerReply, FixedReply
from mock_inference.timing import Timing

BASE: dict[str, Any] = {
    "model": "claude-mock",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Hello"}],
}


# -- worker count ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cpu_max", "expected"),
    [("max 100000", None), ("200000 100000", 2.0), ("150000 100000", 1.5), ("", None),
     ("garbage", None), ("-1 100000", None), ("50000 100000\n", 0.5)],
)  # fmt: skip
def test_cgroup_v2_quota(cpu_max: str, expected: float | None) -> None:
    assert cpus.quota_v2(cpu_max) == expected


@pytest.mark.parametrize(
    ("quota", "period", "expected"),
    [("-1\n", "100000\n", None), ("300000\n", "100000\n", 3.0), ("50000", "100000", 0.5),
     (None, "100000", None), ("x", "100000", None)],
)  # fmt: skip
def test_cgroup_v1_quota(quota: str | None, period: str, expected: float | None) -> None:
    assert cpus.quota_v1(quota, period) == expected


@pytest.mark.parametrize(
    ("affinity", "quota", "expected"),
    [(2, None, 2), (16, None, 8), (16, 3.0, 3), (4, 1.5, 1), (4, 0.5, 1), (1, 8.0, 1),
     (2, 2.9, 2), (0, None, 1)],
)  # fmt: skip
def test_workers_for(affinity: int, quota: float | None, expected: int) -> None:
    """Capped at 8, limited by the quota (rounded down, at least 1) and the affinity."""
    assert cpus.workers_for(affinity, quota) == expected


def test_cgroup_paths() -> None:
    text = "12:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n0::/kubepods/pod1\n"
    paths = cpus.cgroup_paths(text)
    assert paths["cpu"] == paths["cpuacct"] == "/docker/abc"
    assert paths[""] == "/kubepods/pod1"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        # cgroup v2 with a namespace (docker --cpus 1.5): the root's cpu.max.
        ({"/proc/self/cgroup": "0::/\n", "/sys/fs/cgroup/cpu.max": "150000 100000\n"}, 1.5),
        # v2 without a namespace: the process's own cgroup, not the root's.
        ({"/proc/self/cgroup": "0::/kubepods/pod1/c1\n",
          "/sys/fs/cgroup/kubepods/pod1/c1/cpu.max": "300000 100000",
          "/sys/fs/cgroup/cpu.max": "max 100000"}, 3.0),
        # v1 in a container: /proc/self/cgroup names the host's path, the container's
        # own cgroup is mounted at the root.
        ({"/proc/self/cgroup": "4:cpu,cpuacct:/docker/abc\n0::/\n",
          "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "100000\n",
          "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n"}, 1.0),
        # v1 without a limit, and no cgroup files at all.
        ({"/proc/self/cgroup": "1:cpu:/\n", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1",
          "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000"}, None),
        ({}, None),
    ],
)  # fmt: skip
def test_cgroup_quota_from_fake_files(files: dict[str, str], expected: float | None) -> None:
    assert cpus.cgroup_quota(files.get) == expected


def test_parse_workers() -> None:
    assert cpus.parse_workers(" 3 ") == 3
    assert 1 <= cpus.parse_workers("AUTO") <= cpus.MAX_AUTO_WORKERS
    with pytest.raises(ValueError, match="'auto'"):
        cpus.parse_workers("many")


# -- decoder -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"max_tokens": None}, "max_tokens: Field required"),
        ({"max_tokens": "5"}, "max_tokens: Input should be a valid integer"),
        ({"max_tokens": 0}, "max_tokens: Input should be greater than or equal to 1, got 0"),
        ({"model": None}, "model: Field required"),
        ({"messages": []}, "messages: List should have at least 1 item after validation, not 0"),
        ({"messages": [{"role": "system", "content": "x"}]}, 'Unexpected role "system"'),
        ({"messages": [{"role": "bot", "content": "x"}]},
         "messages.0.role: Input should be 'user' or 'assistant'"),
        ({"messages": [{"role": "user"}]}, "messages.0.content: Field required"),
        ({"messages": [{"role": "user", "content": [{"type": 5}]}]},
         "messages.0.content.0.type: Input should be a valid string"),
        ({"messages": [{"role": "user", "content": [{"text": "x"}]}]},
         "messages.0.content.0.type: Field required"),
        ({"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t",
          "content": [{"type": "video"}]}]}]},
         "messages.0.content.0.content.0.type: Input tag \"video\" does not match"),
        ({"messages": [{"role": "user", "content": [{"type": "tool_result"}]}]},
         "messages.0.content.0.tool_use_id: Field required"),
        ({"temperature": 1.5}, "temperature: Input should be less than or equal to 1"),
        ({"stop_sequences": "END"}, "stop_sequences: Input should be a valid list"),
        ({"tools": [{"name": "f"}]}, "tools.0.input_schema: Field required"),
        ({"tools": [{"name": "f", "input_schema": {}}, {"name": "f", "input_schema": {}}]},
         "Duplicate name: f"),
        ({"tool_choice": {"type": "tool", "name": "g"},
          "tools": [{"name": "f", "input_schema": {}}]}, "tool_choice: Tool 'g' not found"),
        ({"tool_choice": {"type": "sometimes"}}, "tool_choice.type: Input tag \"sometimes\""),
        ({"system": [{"type": "image"}]}, "system.0.type: Input tag \"image\""),
        ({"metadata": {"user_id": 5}}, "metadata.user_id: Input should be a valid string"),
        ({"output_config": {"format": {"type": "json_schema"}}},
         "output_config.format.schema: Field required"),
    ],
)  # fmt: skip
def test_decoder_errors(change: dict[str, Any], message: str) -> None:
    body = {**BASE, **change}
    body = {k: v for k, v in body.items() if v is not None}
    with pytest.raises(APIError) as caught:
        decode.messages(body)
    assert caught.value.status_code == 400
    assert caught.value.type == "invalid_request_error"
    assert message in caught.value.message


def test_decoder_reads_blocks_and_tool_results() -> None:
    req = decode.messages(
        {
            **BASE,
            "system": "Be brief.",
            "tools": [
                {"name": "lookup", "input_schema": {"type": "object"}},
                {"type": "web_search_20250305", "name": "web_search"},
            ],  # fmt: skip
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "call lookup please"},
                        {"type": "mcp_tool_result_2030", "x": 1},
                    ],
                },
                {
                    "role": "assistant",
                    "content": [
                        {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": 1}}
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "found"}
                    ],
                },
            ],  # fmt: skip
        }
    )
    assert req.last_user == "call lookup please"
    assert req.after_tool_result
    assert [t["name"] for t in req.tools] == ["lookup"]  # server tools are never called
    assert req.tool_choice == "auto"
    assert req.prompt_text.startswith("Be brief.\n")
    # count_tokens counts the same prompt without needing max_tokens
    counted = decode.messages({k: v for k, v in BASE.items() if k != "max_tokens"}, True)
    assert counted.input_tokens == decode.messages(BASE).input_tokens


# -- turn and encoder ------------------------------------------------------------------------


def test_turn_stop_reasons() -> None:
    fixed = FixedReply("alpha beta STOP gamma delta")

    def turn(**extra: Any):  # type: ignore[no-untyped-def]
        return build(decode.messages({**BASE, **extra}), fixed, True)

    assert turn().stop_reason == "end_turn"
    stopped = turn(stop_sequences=["gamma", "STOP"])
    assert (stopped.stop_reason, stopped.stop_sequence) == ("stop_sequence", "STOP")
    assert stopped.blocks[0].text == "alpha beta "
    limited = turn(max_tokens=2, stop_sequences=["STOP"])
    assert (limited.stop_reason, limited.output_tokens) == ("max_tokens", 2)


def test_tool_turn_and_truncated_input() -> None:
    tools = [{"name": "f", "input_schema": {"type": "object", "required": ["a"],
              "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}}]  # fmt: skip
    req = decode.messages({**BASE, "tools": tools, "tool_choice": {"type": "any"}})
    turn = build(req, FillerReply(10), True)
    (block,) = turn.blocks
    assert turn.stop_reason == "tool_use" and block.type == "tool_use" and block.complete
    body = orjson.loads(encode.message("msg_1", "m", turn, req.input_tokens))
    assert body["content"][0]["input"] == orjson.loads(block.text)
    assert "".join(block.pieces) == block.text
    cut = build(decode.messages({**BASE, "tools": tools, "tool_choice": {"type": "any"},
                                 "max_tokens": 2}), FillerReply(10), True)  # fmt: skip
    assert cut.stop_reason == "max_tokens" and not cut.blocks[0].complete
    assert orjson.loads(encode.message("msg_1", "m", cut, 1))["content"][0]["input"] == {}


def test_stream_events_concatenate_to_the_message() -> None:
    req = decode.messages({**BASE, "temperature": 0})
    turn = build(req, FillerReply(12), True)
    block = turn.blocks[0]
    deltas = encode.Deltas(0, block)
    text = ""
    for piece in block.pieces:
        event = deltas(piece)
        assert event.startswith(b"event: content_block_delta\ndata: ")
        data = orjson.loads(event.split(b"data: ", 1)[1])
        assert data["delta"]["type"] == "text_delta"
        text += data["delta"]["text"]
    assert text == block.text
    end = orjson.loads(encode.message_delta(turn).split(b"data: ", 1)[1])
    assert end["delta"]["stop_reason"] == turn.stop_reason
    assert end["usage"]["output_tokens"] == turn.output_tokens == len(block.pieces)


# -- the stream on the shared path (flow.play) -------------------------------------------


def _played(pieces: list[tuple[str, int]], fail: bool) -> tuple[str, Metrics]:
    """The events flow.play sends for a turn with these blocks (type, delta count),
    as `name[index]` words: the order of the events, block by block."""
    blocks = []
    for kind, n in pieces:
        parts = tuple(f"p{i}," for i in range(n))
        if kind == "text":
            blocks.append(Block("text", "".join(parts), parts))
        else:
            blocks.append(Block("tool_use", "".join(parts), parts, "toolu_1", "f"))
    out = sum(n for _, n in pieces)
    turn = Turn(blocks, "tool_use", None, out, "tool_calls", 5)
    req = decode.messages(BASE)
    metrics = Metrics("m")
    sink = RecordingSink()
    stream = MessagesStream(req, turn)
    asyncio.run(play(sink, stream, turn, Timing(0, 0), fail, metrics, time.perf_counter()))
    words = []
    for chunk in b"".join(sink.sent).split(b"\n\n")[:-1]:
        data = orjson.loads(chunk.split(b"\ndata: ", 1)[1])
        index = data.get("index")
        words.append(data["type"] + ("" if index is None else str(index)))
    return " ".join(words), metrics


HEAD = "message_start content_block_start0 ping"
TAIL = "message_delta message_stop"


@pytest.mark.parametrize(
    ("blocks", "fail", "expected"),
    [
        # text then tool_use: each block's deltas between its start and its stop
        ([("text", 2), ("tool", 2)], False,
         f"{HEAD} content_block_delta0 content_block_delta0 content_block_stop0 "
         f"content_block_start1 content_block_delta1 content_block_delta1 "
         f"content_block_stop1 {TAIL}"),
        # half of 4 deltas: the error right after the text's, its block not stopped
        ([("text", 2), ("tool", 2)], True,
         f"{HEAD} content_block_delta0 content_block_delta0 error"),
        # half of 5 deltas (2) falls inside the tool_use block
        ([("text", 1), ("tool", 4)], True,
         f"{HEAD} content_block_delta0 content_block_stop0 content_block_start1 "
         f"content_block_delta1 error"),
        # a block without deltas is started and stopped where it falls
        ([("text", 0), ("tool", 2)], False,
         f"{HEAD} content_block_stop0 content_block_start1 content_block_delta1 "
         f"content_block_delta1 content_block_stop1 {TAIL}"),
        ([("text", 2), ("text", 0)], False,
         f"{HEAD} content_block_delta0 content_block_delta0 content_block_stop0 "
         f"content_block_start1 content_block_stop1 {TAIL}"),
        ([("text", 0)], True, f"{HEAD} error"),
    ],
)  # fmt: skip
def test_stream_events_of_several_blocks(
    blocks: list[tuple[str, int]], fail: bool, expected: str
) -> None:
    events, metrics = _played(blocks, fail)
    assert events == expected
    assert metrics.stream_errors == fail
    assert metrics.success == ({} if fail else {"tool_calls": 1})
