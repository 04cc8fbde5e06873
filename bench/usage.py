"""Usage data: COPY ingest into usage_events and "requests and tokens per organisation per
hour over the last 7 days", raw against the hourly aggregate, on TimescaleDB and plain
PostgreSQL in the same run.

Starts two throwaway stand-in servers (TimescaleDB and plain PostgreSQL, published on
127.0.0.1 only, removed at the end), migrates both, then for each:

  ingest:    COPY --events rows (over the last 30 days in time order, 20 organisations,
             4 models) into usage_events: the hypertable with its indexes, foreign keys
             and continuous-aggregate invalidation on TimescaleDB; the plain table with
             the same indexes and keys on PostgreSQL. Rows per second.
  refresh:   bringing usage_hourly up to date (refresh_continuous_aggregate /
             REFRESH MATERIALIZED VIEW), then chunks older than 7 days are compressed on
             TimescaleDB, as its policy would, and both are VACUUM ANALYZEd.
  queries:   the question on usage_events and on usage_hourly, median of --repeat runs
             after one warm-up, as the client sees it (both return the same rows, so
             fetching them is a shared floor) and as the server's execution time
             (EXPLAIN ANALYZE); the two answers must be equal. Also "per organisation
             per day over 30 days" summed from usage_hourly: what a daily aggregate
             would have to beat.

Background jobs (the policies) are paused during the run so they do not compete with
what is measured. Targets: the aggregate at least 20x faster than the raw query on
plain PostgreSQL; COPY into the hypertable within 1.3x of COPY into the plain table.

Usage: python bench/usage.py [--events 1000000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pg_server import throwaway_server  # noqa: E402

from provisioner.database.migrations import migrate_up  # noqa: E402

MIGRATIONS = REPO / "migrations"
PREFIX = os.environ.get("STANDIN_PREFIX", "provisioner-standin")
KINDS = ("timescaledb", "postgres")
ORGS = 20
MODELS = ("mock-gpt", "mock-gpt-mini", "mock-claude", "mock-llama")
DAYS = 30
TARGET_AGGREGATE_SPEEDUP = 20.0
TARGET_INGEST_RATIO = 1.3

RAW_QUERY = """
SELECT org_id, date_bin('1 hour', time, timestamptz '2000-01-01 00:00:00+00') AS hour,
       count(*) AS requests, sum(prompt_tokens) + sum(completion_tokens) AS tokens
FROM usage_events
WHERE time >= date_trunc('hour', now()) - interval '7 days'
GROUP BY 1, 2 ORDER BY 1, 2"""
AGGREGATE_QUERY = """
SELECT org_id, hour, sum(requests)::bigint AS requests, sum(total_tokens)::bigint AS tokens
FROM usage_hourly
WHERE hour >= date_trunc('hour', now()) - interval '7 days'
GROUP BY 1, 2 ORDER BY 1, 2"""
# Whether a daily aggregate would earn its place: days summed from the hourly one.
DAILY_FROM_HOURLY = """
SELECT org_id, date_bin('1 day', hour, timestamptz '2000-01-01 00:00:00+00') AS day,
       sum(requests)::bigint, sum(total_tokens)::bigint
FROM usage_hourly WHERE hour >= date_trunc('day', now()) - interval '30 days'
GROUP BY 1, 2 ORDER BY 1, 2"""


def make_orgs(conn: psycopg.Connection) -> list[str]:
    """The same organisation ids in both databases, so the answers can be compared."""
    ids = [str(uuid.UUID(int=i + 1)) for i in range(ORGS)]
    for i, org_id in enumerate(ids):
        conn.execute(
            "INSERT INTO organizations (id, slug, name) VALUES (%s, %s, %s)",
            (org_id, f"org-{i}", f"Org {i}"),
        )
    return ids


def copy_data(events: int, orgs: list[str], now: datetime) -> bytes:
    """COPY text for `events` rows, the same bytes for both databases."""
    rng = random.Random(42)
    span = DAYS * 86400
    out = io.StringIO()
    statuses = ["ok"] * 95 + ["error"] * 3 + ["rate_limited", "cancelled"]
    weights = [1 / (i + 1) for i in range(ORGS)]  # a few big organisations, a long tail
    # In time order, as a usage log is written: one row per request as it completes.
    offsets = sorted((rng.random() * span for _ in range(events)), reverse=True)
    for org_id, offset in zip(rng.choices(orgs, weights=weights, k=events), offsets, strict=True):
        at = now - timedelta(seconds=offset)
        out.write(
            f"{at.isoformat()}\t{org_id}\t{rng.choice(MODELS)}\t{rng.randint(5, 2000)}\t"
            f"{rng.randint(1, 800)}\t{rng.randint(20, 4000)}\t{rng.choice(statuses)}\n"
        )
    return out.getvalue().encode()


def ingest(conn: psycopg.Connection, data: bytes) -> float:
    columns = "time, org_id, model, prompt_tokens, completion_tokens, latency_ms, status"
    start = time.perf_counter()
    with conn.cursor() as cur, cur.copy(f"COPY usage_events ({columns}) FROM STDIN") as copy:
        view = memoryview(data)
        for offset in range(0, len(data), 1 << 20):
            copy.write(view[offset : offset + (1 << 20)])
    return time.perf_counter() - start


def refresh(conn: psycopg.Connection, kind: str) -> float:
    start = time.perf_counter()
    if kind == "timescaledb":
        conn.execute("CALL refresh_continuous_aggregate('usage_hourly', NULL, NULL)")
        conn.execute(
            "SELECT count(compress_chunk(c, if_not_compressed => true)) "
            "FROM show_chunks('usage_events', older_than => interval '7 days') AS c"
        )
    else:
        conn.execute("REFRESH MATERIALIZED VIEW usage_hourly")
    elapsed = time.perf_counter() - start
    conn.execute("VACUUM ANALYZE usage_events")
    conn.execute("VACUUM ANALYZE usage_hourly" if kind == "postgres" else "ANALYZE")
    return elapsed


def query_time(conn: psycopg.Connection, sql: str, repeat: int) -> tuple[float, float, list[tuple]]:
    """(median seen by the client, median server execution time, the answer)."""
    rows = conn.execute(sql).fetchall()  # warm-up, and the answer
    times, server = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        conn.execute(sql).fetchall()
        times.append(time.perf_counter() - start)
        plan = conn.execute(f"EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {sql}").fetchone()
        server.append(plan[0][0]["Execution Time"] / 1000)  # type: ignore[index]
    return statistics.median(times), statistics.median(server), rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7, help="timed runs of each query")
    args = parser.parse_args()

    results: dict[str, dict[str, float]] = {}
    answers: dict[str, list[list[tuple]]] = {}
    now = datetime.now(UTC).replace(microsecond=0)
    with ExitStack() as stack:
        servers = {
            kind: stack.enter_context(
                throwaway_server(f"{PREFIX}/{kind}:latest", f"usage-{kind}", "bench")
            )
            for kind in KINDS
        }
        conns = {}
        for kind, dsn in servers.items():
            migrate_up(dsn, MIGRATIONS)
            conn = stack.enter_context(psycopg.connect(dsn, autocommit=True))
            if kind == "timescaledb":  # keep the policies from running mid-measurement
                conn.execute(
                    "SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs"
                )
            conns[kind] = conn
        orgs = [make_orgs(conn) for conn in conns.values()][0]
        data = copy_data(args.events, orgs, now)
        for kind, conn in conns.items():
            took = ingest(conn, data)
            results[kind] = {"ingest_s": took, "rate": args.events / took}
        for kind, conn in conns.items():
            results[kind]["refresh_s"] = refresh(conn, kind)
            raw_s, raw_server_s, raw_rows = query_time(conn, RAW_QUERY, args.repeat)
            agg_s, agg_server_s, agg_rows = query_time(conn, AGGREGATE_QUERY, args.repeat)
            daily_s, _, _ = query_time(conn, DAILY_FROM_HOURLY, args.repeat)
            results[kind] |= {
                "raw_s": raw_s,
                "agg_s": agg_s,
                "raw_server_s": raw_server_s,
                "agg_server_s": agg_server_s,
                "daily_s": daily_s,
            }
            answers[kind] = [raw_rows, agg_rows]

    for kind, (raw_rows, agg_rows) in answers.items():
        if [tuple(map(str, r)) for r in raw_rows] != [tuple(map(str, r)) for r in agg_rows]:
            print(f"{kind}: the aggregate's answer differs from the raw table's", file=sys.stderr)
            return 1
    ts, pg = results["timescaledb"], results["postgres"]
    rows_in_window = sum(r[2] for r in answers["postgres"][0])
    print(
        f"{args.events:,} events over {DAYS} days, {ORGS} organisations, {len(MODELS)} models; "
        f"{rows_in_window:,} in the 7-day window ({len(answers['postgres'][0]):,} result rows); "
        f"queries: median of {args.repeat}"
    )
    print(f"{'':34}{'TimescaleDB':>14}{'PostgreSQL':>14}{'TS / PG':>10}")

    def line(label: str, a: float, b: float, fmt: str) -> None:
        print(f"{label:34}{fmt.format(a):>14}{fmt.format(b):>14}{a / b:>9.2f}x")

    line("COPY ingest (rows/s)", ts["rate"], pg["rate"], "{:,.0f}")
    line("refresh aggregate (+compress) (s)", ts["refresh_s"], pg["refresh_s"], "{:.2f}")
    line("raw query, usage_events (ms)", ts["raw_s"] * 1000, pg["raw_s"] * 1000, "{:.1f}")
    line("aggregate, usage_hourly (ms)", ts["agg_s"] * 1000, pg["agg_s"] * 1000, "{:.2f}")
    line(
        "  server execution, raw (ms)",
        ts["raw_server_s"] * 1000,
        pg["raw_server_s"] * 1000,
        "{:.1f}",
    )
    line(
        "  server execution, aggregate (ms)",
        ts["agg_server_s"] * 1000,
        pg["agg_server_s"] * 1000,
        "{:.2f}",
    )
    line("per day, 30 days, from hourly (ms)", ts["daily_s"] * 1000, pg["daily_s"] * 1000, "{:.2f}")
    ts_speedup, pg_speedup = ts["raw_s"] / ts["agg_s"], pg["raw_s"] / pg["agg_s"]
    line("speed-up raw / aggregate", ts_speedup, pg_speedup, "{:.1f}x")
    ts_server, pg_server = (r["raw_server_s"] / r["agg_server_s"] for r in (ts, pg))
    line("  the same, server execution", ts_server, pg_server, "{:.1f}x")
    ingest_ratio = pg["rate"] / ts["rate"]  # how much slower the hypertable takes rows
    print(
        f"aggregate vs raw on PostgreSQL: {pg_speedup:.1f}x faster as the client sees it "
        f"({'meets' if pg_speedup >= TARGET_AGGREGATE_SPEEDUP else 'MISSES'} the 20x target), "
        f"{pg_server:.1f}x in server execution time "
        f"({'meets' if pg_server >= TARGET_AGGREGATE_SPEEDUP else 'MISSES'} it)"
    )
    print(
        f"hypertable ingest vs plain table: {ingest_ratio:.2f}x the time "
        f"({'meets' if ingest_ratio <= TARGET_INGEST_RATIO else 'MISSES'} the 1.3x target)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
