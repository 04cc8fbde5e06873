"""Dependency order of services. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Set

from provisioner.errors import SpecError


def find_cycle(edges: Mapping[str, Set[str]]) -> list[str] | None:
    """A dependency cycle as a path (first == last), or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(edges.get(node, ())):
            if state.get(dep) == 1:
                return stack[stack.index(dep) :] + [dep]
            if dep not in state and (cycle := visit(dep)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def topological_order(edges: Mapping[str, Set[str]]) -> list[str]:
    """Nodes with their dependencies first; ties broken by name so output is stable."""
    cycle = find_cycle(edges)
    if cycle:
        raise SpecError("dependency cycle: " + " -> ".join(cycle) + ".")
    order: list[str] = []
    done: set[str] = set()
    remaining = set(edges)
    while remaining:
        ready = sorted(n for n in remaining if set(edges[n]) & set(edges) <= done)
        order.extend(ready)
        done.update(ready)
        remaining.difference_update(ready)
    return order


def with_dependencies(edges: Mapping[str, Set[str]], selected: Set[str]) -> set[str]:
    """The selected nodes plus everything they depend on, transitively."""
    result: set[str] = set()
    todo = list(selected)
    while todo:
        node = todo.pop()
        if node not in result:
            result.add(node)
            todo.extend(edges.get(node, ()))
    return result
