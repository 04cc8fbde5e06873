"""`apply` interrupted by SIGINT, SIGTERM or SIGKILL at several points: the next `apply`
converges to the same state as an uninterrupted one, and SIGINT/SIGTERM stop cleanly."""

from __future__ import annotations

import signal

import pytest

from tests.support.docker_stacks import free_port
from tests.support.runs import assert_converged, background, project_state
from tests.support.stacks import interrupt_stack

pytestmark = pytest.mark.docker
SERVICES = {"redis", "slow", "app"}

# (signal, the progress line to interrupt on)
POINTS = {
    "sigint-creating": (signal.SIGINT, r"creating container"),
    "sigint-waiting": (signal.SIGINT, r"slow .*waiting for health"),
    "sigterm-waiting": (signal.SIGTERM, r"slow .*waiting for health"),
    "sigkill-creating": (signal.SIGKILL, r"creating container"),
    "sigkill-waiting": (signal.SIGKILL, r"slow .*waiting for health"),
}


@pytest.mark.parametrize("point", list(POINTS))
def test_interrupted_apply_resumes(make_stack, docker_client, point: str) -> None:
    sig, line = POINTS[point]
    stack = make_stack(interrupt_stack(free_port(), free_port()))
    run = background(stack, "apply")
    run.wait_for(line, timeout=60)
    run.signal(sig)
    code = run.finish(timeout=30)

    if sig != signal.SIGKILL:
        assert code == 128 + sig, (code, run.err)
        assert "Interrupted" in run.err, run.err
        assert "apply` again" in run.err, run.err
        # The message comes last: no thread goes on changing Docker after it (and after
        # the project lock is released).
        assert "Interrupted" in run.stderr[-1], run.err
    else:
        assert code == -signal.SIGKILL
    # Something was left half-way: the dependent of the slow service never started.
    partial = project_state(docker_client, stack.project)
    assert "app" not in partial.containers, partial.containers.keys()
    for service, found in partial.containers.items():
        assert len(found) == 1, f"{len(found)} containers for {service} after the interrupt"

    again = stack.run("apply", timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    state = assert_converged(docker_client, stack.project, SERVICES, stack)
    assert state.volumes == [f"{stack.project}_redis_data"]
