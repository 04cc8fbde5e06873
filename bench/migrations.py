"""Speed of migrations and seeds: applying everything to an empty database, and a no-op run.

Starts a throwaway stand-in PostgreSQL (published on 127.0.0.1 only, removed at the
end), or uses --dsn. For each round a fresh database is created, then:

  cold:  migrate_up + run_seeds on the empty database (seeds include one bcrypt
         hash at cost 12, which is most of it);
  no-op: migrate_up + run_seeds again with nothing to do (the `apply` on a converged
         stack), median of --noop runs. Target: under 100 ms.

Usage: python bench/migrations.py [--rounds 5] [--noop 20] [--dsn postgresql://...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pg_server import throwaway_server  # noqa: E402

from provisioner.database.migrations import migrate_up  # noqa: E402
from provisioner.database.seeds import run_seeds  # noqa: E402

MIGRATIONS = REPO / "migrations"
SEEDS = REPO / "seeds"
VARIABLES = {"admin_password": "bench_password"}
TARGET_NOOP_S = 0.100
IMAGE = "provisioner-standin/postgres:latest"


@contextmanager
def fresh_database(server_dsn: str) -> Iterator[str]:
    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server_dsn.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(server_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="fresh databases (cold runs)")
    parser.add_argument("--noop", type=int, default=20, help="no-op runs per database")
    parser.add_argument("--dsn", help="an existing server's maintenance DSN (default: start one)")
    args = parser.parse_args()

    with (
        throwaway_server(IMAGE, "migrations", ready_within=90)
        if args.dsn is None
        else _given(args.dsn) as server
    ):
        cold_m, cold_s, noop_m, noop_s, noop_all, connect = [], [], [], [], [], []
        for _ in range(args.rounds):
            with fresh_database(server) as dsn:
                cold_m.append(timed(lambda d=dsn: migrate_up(d, MIGRATIONS)))
                cold_s.append(timed(lambda d=dsn: run_seeds(d, SEEDS, VARIABLES)))
                for _ in range(args.noop):
                    m = timed(lambda d=dsn: migrate_up(d, MIGRATIONS))
                    s = timed(lambda d=dsn: run_seeds(d, SEEDS, VARIABLES))
                    noop_m.append(m)
                    noop_s.append(s)
                    noop_all.append(m + s)
                    connect.append(timed(lambda d=dsn: psycopg.connect(d).close()))

    med = statistics.median
    cold = [m + s for m, s in zip(cold_m, cold_s, strict=True)]
    print(
        f"migrations: {len(list(MIGRATIONS.glob('*.up.sql')))} files, seeds: "
        f"{len(list(SEEDS.glob('*.sql')))} files; {args.rounds} fresh databases, "
        f"{args.noop} no-op runs each ({len(noop_all)} in all)"
    )
    print(
        f"cold, empty database   migrations {ms(med(cold_m))}   seeds {ms(med(cold_s))}"
        f"   total {ms(med(cold))}   (median; min {ms(min(cold)).strip()},"
        f" max {ms(max(cold)).strip()})"
    )
    print(
        f"no-op run              migrations {ms(med(noop_m))}   seeds {ms(med(noop_s))}"
        f"   total {ms(med(noop_all))}   (median; p90 "
        f"{ms(statistics.quantiles(noop_all, n=10)[-1]).strip()})"
    )
    print(f"  of which one psycopg connect (the floor, x2): {ms(med(connect)).strip()}")
    ratio = med(noop_all) / TARGET_NOOP_S
    verdict = "meets" if ratio < 1 else "MISSES"
    print(f"no-op vs the 100 ms target: {ratio:.2f}x ({verdict} it)")
    return 0


@contextmanager
def _given(dsn: str) -> Iterator[str]:
    yield dsn


if __name__ == "__main__":
    raise SystemExit(main())
