"""The apply and destroy flow against an in-memory engine: ordering, failures, Ctrl-C.

Milliseconds per test, no Docker: what the converge package decides is tested here;
that the Docker edge carries it out is tested in tests/integration.
"""

from __future__ import annotations

import os
import signal
import threading

import pytest

from provisioner.converge.apply import converge, start_order
from provisioner.converge.destroy import destroy
from provisioner.core.plan import Kind
from provisioner.core.teardown import plan_destroy
from provisioner.errors import ConflictError, Interrupted, ServiceFailed
from tests.unit.fake_engine import FakeEngine, SilentReporter

STACK = """
project: demo
services:
  db:
    image: postgres:15
    ports: ["5432:5432"]
    healthcheck: {type: tcp, port: 5432}
  cache:
    image: redis:7
  api:
    image: api:1
    depends_on:
      db: {condition: service_healthy}
      cache: {condition: service_started}
  worker:
    image: worker:1
    depends_on:
      api: {condition: service_healthy}
  other:
    image: other:1
"""


def order(engine: FakeEngine, what: str) -> list[str]:
    return [subject for call, subject in engine.calls if call == what]


def index(engine: FakeEngine, call: tuple[str, str]) -> int:
    return engine.calls.index(call)


@pytest.fixture
def desired(make_desired):
    return make_desired(STACK)


def apply(engine: FakeEngine, desired, only: set[str] | None = None):
    return converge(engine, desired, SilentReporter(), threading.Event(), only)


def test_from_nothing_everything_is_created_in_dependency_order(desired) -> None:
    engine = FakeEngine()
    result = apply(engine, desired)
    assert sorted(order(engine, "create")) == ["api", "cache", "db", "other", "worker"]
    assert order(engine, "pull") and set(order(engine, "healthy")) == set(desired.services)
    # healthy dependencies are healthy before the dependent is created
    assert index(engine, ("healthy", "db")) < index(engine, ("create", "api"))
    assert index(engine, ("healthy", "api")) < index(engine, ("create", "worker"))
    # a "started" dependency only has to be started
    assert index(engine, ("start", "cache")) < index(engine, ("create", "api"))
    assert all(o.healthy for o in result.outcomes.values())


def test_a_second_apply_does_nothing(desired) -> None:
    engine = FakeEngine()
    apply(engine, desired)
    engine.calls.clear()
    result = apply(engine, desired)
    assert not result.changed
    assert [c for c, _ in engine.calls if c != "healthy"] == []
    assert {o.kind for o in result.outcomes.values()} == {Kind.UNCHANGED}


def test_a_failure_stops_only_its_dependents(desired) -> None:
    engine = FakeEngine(unhealthy={"db"})
    with pytest.raises(ServiceFailed, match="'db' did not become healthy"):
        apply(engine, desired)
    created = set(order(engine, "create"))
    assert "api" not in created and "worker" not in created  # wait for db, directly or not
    assert {"db", "cache", "other"} <= created  # the rest went on
    assert set(order(engine, "healthy")) == {"cache", "other"}


def test_a_subset_brings_its_dependencies_only(make_desired, desired) -> None:
    engine = FakeEngine()
    apply(engine, desired, only={"api", "db", "cache"})
    assert sorted(order(engine, "create")) == ["api", "cache", "db"]


def test_recreate_removes_the_old_container_before_making_the_new(make_desired, desired) -> None:
    engine = FakeEngine()
    apply(engine, desired)
    changed = make_desired(STACK.replace("image: api:1", "image: api:2"))
    engine.calls.clear()
    result = apply(engine, changed)
    assert result.outcomes["api"].kind is Kind.RECREATE
    assert engine.calls.index(("remove", "api")) < engine.calls.index(("create", "api"))
    assert order(engine, "create") == ["api"]


def test_a_busy_port_refuses_before_anything_changes(desired) -> None:
    engine = FakeEngine(busy_ports={("127.0.0.1", 5432, "tcp"): "process 42 (postgres)"})
    with pytest.raises(ConflictError, match=r"5432/tcp, which is already in use by process 42"):
        apply(engine, desired)
    assert engine.calls == []


def test_ctrl_c_drains_the_threads_then_reports_interrupted(desired) -> None:
    """SIGINT while services wait for health: nothing starts afterwards, every thread ends."""
    engine = FakeEngine(health_delay={"db": 5.0})

    def interrupt_once(service: str) -> None:
        if service == "db":
            os.kill(os.getpid(), signal.SIGINT)

    engine.on_health_wait = interrupt_once
    before = threading.active_count()
    with pytest.raises(Interrupted):
        apply(engine, desired)
    assert threading.active_count() == before  # drained: no thread acts after we report
    assert "api" not in order(engine, "create") and "worker" not in order(engine, "create")


def test_destroy_removes_dependents_first_and_keeps_volumes(make_desired) -> None:
    desired = make_desired(STACK + "volumes:\n  data:\n")
    engine = FakeEngine(volumes={"demo_data"})
    apply(engine, desired)
    engine.calls.clear()
    teardown = plan_destroy(desired, engine.observe(desired), delete_volumes=False)
    destroy(engine, teardown, SilentReporter(), threading.Event())
    removed = order(engine, "remove")
    assert removed.index("worker") < removed.index("api") < removed.index("db")
    assert removed.index("api") < removed.index("cache")
    assert engine.containers == {} and engine.networks == set()
    assert engine.volumes == {"demo_data"} and teardown.kept_volumes == ("demo_data",)


def test_destroy_with_volumes_deletes_only_the_project_volumes(make_desired) -> None:
    desired = make_desired(STACK + "volumes:\n  data:\n")
    engine = FakeEngine(volumes={"demo_data"})
    teardown = plan_destroy(desired, engine.observe(desired), delete_volumes=True)
    assert teardown.volumes == ("demo_data",)
    destroy(engine, teardown, SilentReporter(), threading.Event())
    assert engine.volumes == set()


def test_the_slowest_kind_of_service_is_created_first(make_desired) -> None:
    """RabbitMQ (AMQP) then PostgreSQL get the engine's first creates: a cold apply can
    be no faster than its slowest service, so that one must not wait its turn."""
    desired = make_desired(
        """
project: demo
services:
  a-cache: {image: redis:7, healthcheck: {type: redis}}
  b-web: {image: web:1, healthcheck: {type: http, port: 80}}
  c-db: {image: postgres:15, healthcheck: {type: postgres}}
  d-queue: {image: rabbitmq:3, healthcheck: {type: amqp}}
"""
    )
    names = list(desired.services)
    assert start_order(desired, names) == ["d-queue", "c-db", "b-web", "a-cache"]
