"""Prometheus text exposition with vLLM's metric names.

Plain Python counters and fixed-bucket histograms: an observation is a bisect and
two additions, cheap enough for the hot path. Each worker process keeps its own
figures; the worker that is scraped adds up everyone's (`merge`, peers.py).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .turn import Counts

# vLLM's bucket boundaries (seconds) for these histograms.
TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5,
                5.0, 7.5, 10.0)  # fmt: skip
ITL_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5)
E2E_BUCKETS = (0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0,
               60.0)  # fmt: skip


class Histogram:
    __slots__ = ("buckets", "counts", "total", "n")

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.total = 0.0
        self.n = 0

    def observe(self, value: float, times: int = 1) -> None:
        self.counts[bisect_left(self.buckets, value)] += times
        self.total += value * times
        self.n += times

    def render(self, name: str, labels: str) -> list[str]:
        lines = []
        running = 0
        for bound, hits in zip(self.buckets, self.counts, strict=False):
            running += hits
            lines.append(f'{name}_bucket{{{labels},le="{bound}"}} {running}')
        lines.append(f'{name}_bucket{{{labels},le="+Inf"}} {self.n}')
        lines.append(f"{name}_count{{{labels}}} {self.n}")
        lines.append(f"{name}_sum{{{labels}}} {self.total}")
        return lines


class Metrics:
    def __init__(self, model_name: str) -> None:
        self.labels = f'model_name="{model_name}"'
        self.running = 0
        self.prompt_tokens = 0
        self.generation_tokens = 0
        self.ttft = Histogram(TTFT_BUCKETS)
        self.itl = Histogram(ITL_BUCKETS)
        self.e2e = Histogram(E2E_BUCKETS)
        self.success: defaultdict[str, int] = defaultdict(int)  # by finish reason
        self.http: defaultdict[tuple[str, int], int] = defaultdict(int)  # by (route, status)
        self.fast_path = 0  # answers written by fastpath.FastPathProtocol, not by Sanic
        self.stream_errors = 0  # injected mid-stream failures (x-mock-fault: stream_error)

    def finished(
        self, prompt_tokens: int, generation_tokens: int, finish_reason: str, e2e: float
    ) -> None:
        self.prompt_tokens += prompt_tokens
        self.generation_tokens += generation_tokens
        self.success[finish_reason] += 1
        self.e2e.observe(e2e)

    def answered(self, route: str, counts: Counts, ttft: float, itl: float, e2e: float) -> None:
        """A non-streamed answer, all at once (the fast path's hot spot: one call)."""
        self.ttft.observe(ttft)
        if counts.steps > 1:
            self.itl.observe(itl, counts.steps - 1)
        self.prompt_tokens += counts.prompt_tokens
        self.generation_tokens += counts.completion_tokens
        self.success[counts.finish_reason] += 1
        self.e2e.observe(e2e)
        self.http[(route, 200)] += 1

    def render(self) -> str:
        lb = self.labels
        out = [
            "# HELP vllm:num_requests_running Number of requests currently running.",
            "# TYPE vllm:num_requests_running gauge",
            f"vllm:num_requests_running{{{lb}}} {self.running}",
            "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.",
            "# TYPE vllm:num_requests_waiting gauge",
            f"vllm:num_requests_waiting{{{lb}}} 0",
            "# HELP vllm:prompt_tokens_total Number of prefill tokens processed.",
            "# TYPE vllm:prompt_tokens_total counter",
            f"vllm:prompt_tokens_total{{{lb}}} {self.prompt_tokens}",
            "# HELP vllm:generation_tokens_total Number of generation tokens processed.",
            "# TYPE vllm:generation_tokens_total counter",
            f"vllm:generation_tokens_total{{{lb}}} {self.generation_tokens}",
            "# HELP vllm:request_success_total Count of successfully processed requests.",
            "# TYPE vllm:request_success_total counter",
        ]
        for reason, hits in sorted(self.success.items()):
            out.append(f'vllm:request_success_total{{finished_reason="{reason}",{lb}}} {hits}')
        for name, hist, text in (
            ("vllm:time_to_first_token_seconds", self.ttft, "Time to first token in seconds."),
            ("vllm:inter_token_latency_seconds", self.itl, "Inter-token latency in seconds."),
            ("vllm:e2e_request_latency_seconds", self.e2e, "End to end request latency."),
        ):
            out.append(f"# HELP {name} {text}")
            out.append(f"# TYPE {name} histogram")
            out.extend(hist.render(name, lb))
        out.append("# HELP mock_http_requests_total HTTP requests answered, by route and status.")
        out.append("# TYPE mock_http_requests_total counter")
        for (route, status), hits in sorted(self.http.items()):
            out.append(f'mock_http_requests_total{{route="{route}",status="{status}"}} {hits}')
        out.append("# HELP mock_fast_path_requests_total Requests answered without Sanic's cycle.")
        out.append("# TYPE mock_fast_path_requests_total counter")
        out.append(f"mock_fast_path_requests_total {self.fast_path}")
        out.append("# HELP mock_stream_errors_total Streams ended by an injected error event.")
        out.append("# TYPE mock_stream_errors_total counter")
        out.append(f"mock_stream_errors_total {self.stream_errors}")
        return "\n".join(out) + "\n"


def merge(texts: list[str]) -> str:
    """Add up the Prometheus text of several workers: the same sample's values are
    summed (counters, histogram buckets, sums, counts, and the running gauge alike);
    families keep the order in which they first appear."""
    families: dict[str, tuple[list[str], dict[str, float | int]]] = {}
    for text in texts:
        current: tuple[list[str], dict[str, float | int]] | None = None
        for line in text.splitlines():
            if line.startswith("# HELP "):
                current = families.setdefault(line.split(" ", 3)[2], ([], {}))
            if current is None or not line:
                continue
            comments, samples = current
            if line.startswith("#"):
                if line not in comments:
                    comments.append(line)
                continue
            key, _, raw = line.rpartition(" ")
            value: float | int = int(raw) if raw.lstrip("-").isdigit() else float(raw)
            samples[key] = samples.get(key, 0) + value
    out: list[str] = []
    for comments, samples in families.values():
        out.extend(comments)
        out.extend(f"{key} {value}" for key, value in samples.items())
    return "\n".join(out) + "\n"
