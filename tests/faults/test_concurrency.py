"""Two runs at once on one project: the project lock makes the second wait (or refuse
clearly when told not to wait long); never two containers for a service."""

from __future__ import annotations

import pytest

from tests.support.docker_stacks import free_port
from tests.support.images import PYTHON
from tests.support.runs import assert_converged, background, project_state
from tests.support.stacks import interrupt_stack

pytestmark = pytest.mark.docker
SERVICES = {"redis", "slow", "app"}


def test_two_applies_at_once(make_stack, docker_client) -> None:
    stack = make_stack(interrupt_stack(free_port(), free_port(), delay=2.0))
    first = background(stack, "apply")
    second = background(stack, "apply")
    codes = [first.finish(120), second.finish(120)]
    assert codes == [0, 0], (first.out + first.err, second.out + second.err)
    # One of them waited for the other and said so, then found nothing left to do.
    waited = [r for r in (first, second) if "Waiting for pid" in r.err]
    assert len(waited) == 1, (first.err, second.err)
    assert "No changes" in waited[0].out, waited[0].out
    assert_converged(docker_client, stack.project, SERVICES, stack)

    # Told to wait only briefly, the second refuses with a clear message and changes nothing.
    stack.run("destroy", check=True)
    slow = background(stack, "apply")
    slow.wait_for(r"slow .*waiting for health")
    refused = stack.run("apply", "--lock-timeout", "0.5")
    assert refused.returncode == 1
    assert f"Project '{stack.project}' is busy" in refused.stderr, refused.stderr
    assert "(apply)" in refused.stderr and "--lock-timeout" in refused.stderr
    assert slow.finish(120) == 0, slow.err
    assert_converged(docker_client, stack.project, SERVICES, stack)


def test_apply_and_destroy_at_once(make_stack, docker_client) -> None:
    stack = make_stack(interrupt_stack(free_port(), free_port(), delay=2.0))
    for order in (("apply", "destroy"), ("destroy", "apply")):
        runs = [background(stack, order[0])]
        if order[0] == "apply":
            runs[0].wait_for(r"creating container")
        runs.append(background(stack, order[1]))
        codes = [r.finish(120) for r in runs]
        assert codes == [0, 0], [r.out + r.err for r in runs]
        state = project_state(docker_client, stack.project)
        if order[1] == "destroy":
            # destroy waited for apply, then removed everything but the volumes.
            assert state.empty_of_containers_and_networks, state
            assert state.volumes == [f"{stack.project}_redis_data"]
        else:
            # Whichever ran last decides; either way the state is whole, never half.
            if state.containers:
                assert_converged(docker_client, stack.project, SERVICES, stack)
            else:
                assert state.empty_of_containers_and_networks, state


def test_apply_during_destroy_waits_even_on_a_converged_stack(make_stack, docker_client) -> None:
    """The no-op fast path must not answer 'No changes' while another run holds the lock."""
    stack = make_stack(
        f"""
project: PROJECT
services:
  web:
    image: {PYTHON}
    command: ["python3", "-m", "http.server", "8080"]
    healthcheck: {{type: http, port: 8080, timeout: 30s}}
    stop_grace_period: 3s   # python as PID 1 ignores SIGTERM: stopping takes the whole grace
"""
    )
    stack.run("apply", check=True)
    assert "No changes" in stack.run("apply", check=True).stdout  # the fast path is primed
    destroy = background(stack, "destroy")
    destroy.wait_for(r"stopping and removing")
    applied = stack.run("apply", timeout=120)
    assert destroy.finish(60) == 0, destroy.err
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "No changes" not in applied.stdout, applied.stdout + applied.stderr
    assert_converged(docker_client, stack.project, {"web"}, stack)
