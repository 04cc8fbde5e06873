"""How many workers `MOCK_WORKERS=auto` (the container's default) starts.

As many as the CPUs this process may use, capped: the CPUs it may run on
(sched_getaffinity, so `docker --cpuset-cpus` counts) and the cgroup CPU quota
(cgroup v2 `cpu.max`, cgroup v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`, so
`docker --cpus` and Kubernetes CPU limits count). A fractional quota rounds down,
at least 1, as Go's automaxprocs does: 1.5 CPUs run one worker that is never
throttled rather than two that are. os.cpu_count() alone would see the host's cores.

The parsing is pure (it takes the files' texts); `usable_cpus()` reads the files.
"""

from __future__ import annotations

import os
from collections.abc import Callable

MAX_AUTO_WORKERS = 8  # past this, more single-threaded workers buy a mock little
_CGROUP = "/sys/fs/cgroup"  # plain strings: pathlib costs milliseconds of start-up


def quota_v2(cpu_max: str | None) -> float | None:
    """cgroup v2 `cpu.max`: "max 100000" (no limit) or "<quota> <period>"."""
    if not cpu_max:
        return None
    parts = cpu_max.split()
    if len(parts) != 2 or parts[0] == "max":
        return None
    try:
        quota, period = int(parts[0]), int(parts[1])
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def quota_v1(cfs_quota: str | None, cfs_period: str | None) -> float | None:
    """cgroup v1: `cpu.cfs_quota_us` is -1 without a limit."""
    if not cfs_quota or not cfs_period:
        return None
    try:
        quota, period = int(cfs_quota.strip()), int(cfs_period.strip())
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def workers_for(affinity: int, quota: float | None, cap: int = MAX_AUTO_WORKERS) -> int:
    usable = float(max(1, affinity))
    if quota is not None:
        usable = min(usable, quota)
    return max(1, min(cap, int(usable)))


def cgroup_paths(proc_self_cgroup: str) -> dict[str, str]:
    """/proc/self/cgroup lines "id:controllers:path" -> {controller: path}; v2 is ""."""
    paths: dict[str, str] = {}
    for line in proc_self_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        for controller in parts[1].split(",") if parts[1] else [""]:
            paths[controller] = parts[2]
    return paths


def cgroup_quota(read: Callable[[str], str | None]) -> float | None:
    """The CPU quota from the cgroup files, given a reader of file texts (None for a
    missing file); pure, so it is tested with fake files. For each file the process's
    own cgroup is tried first, then the mount's root: inside a container without a
    cgroup namespace the recorded path is the host's and the container's own cgroup is
    mounted at the root. cgroup v2 first, then v1 (cpu, or cpu,cpuacct)."""
    join = os.path.join

    def first(*paths: str) -> str | None:
        for path in paths:
            text = read(path)
            if text is not None:
                return text
        return None

    own = cgroup_paths(read("/proc/self/cgroup") or "")
    v2 = own.get("", "/").lstrip("/")
    quota = quota_v2(first(join(_CGROUP, v2, "cpu.max"), join(_CGROUP, "cpu.max")))
    if quota is not None:
        return quota
    v1 = own.get("cpu", "/").lstrip("/")
    for mount in (join(_CGROUP, "cpu"), join(_CGROUP, "cpu,cpuacct")):
        quota = quota_v1(
            first(join(mount, v1, "cpu.cfs_quota_us"), join(mount, "cpu.cfs_quota_us")),
            first(join(mount, v1, "cpu.cfs_period_us"), join(mount, "cpu.cfs_period_us")),
        )
        if quota is not None:
            return quota
    return None


def _read_file(path: str) -> str | None:
    try:
        with open(path) as fh:
            return fh.read()
    except OSError:
        return None


def usable_cpus(cap: int = MAX_AUTO_WORKERS) -> int:
    try:
        affinity = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        affinity = os.cpu_count() or 1
    return workers_for(affinity, cgroup_quota(_read_file), cap)


def parse_workers(raw: str) -> int:
    """A MOCK_WORKERS / --workers value: a positive integer or "auto"."""
    value = raw.strip().lower()
    if value == "auto":
        return usable_cpus()
    try:
        return int(value)
    except ValueError:
        raise ValueError(
            f"MOCK_WORKERS/--workers must be a number or 'auto', got {raw!r}"
        ) from None
