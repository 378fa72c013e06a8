"""Dependency graph of a workflow file: execution order, cycles, ancestors and descendants.

The order is Kahn's algorithm run in waves: wave 0 holds the tasks without dependencies, wave
n the tasks whose dependencies are all in earlier waves. Tasks of one wave (equal rank) keep
the order of the file, so the plan is the same on every run, on the CLI and in the docs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Graph = Mapping[str, Sequence[str]]
"""task id -> ids it depends on (its direct upstream), in file order."""


def topological_order(graph: Graph) -> tuple[list[str], list[str]]:
    """``(order, left_over)``: the execution order, and the tasks on or behind a cycle."""
    position = {task: i for i, task in enumerate(graph)}
    waiting = {task: len(set(deps)) for task, deps in graph.items()}
    dependants: dict[str, list[str]] = {task: [] for task in graph}
    for task, deps in graph.items():
        for dep in dict.fromkeys(deps):
            dependants[dep].append(task)
    wave = [task for task, count in waiting.items() if count == 0]
    order: list[str] = []
    while wave:
        order.extend(wave)
        ready = []
        for task in wave:
            for dependant in dependants[task]:
                waiting[dependant] -= 1
                if waiting[dependant] == 0:
                    ready.append(dependant)
        wave = sorted(ready, key=position.__getitem__)
    done = set(order)
    return order, [task for task in graph if task not in done]


def find_cycle(graph: Graph, candidates: Sequence[str]) -> list[str]:
    """One cycle among ``candidates`` (what Kahn left over), in execution direction, starting and
    ending at the first candidate of the file that lies on a cycle: ``[a, b, a]`` means b depends
    on a and a on b."""
    left = set(candidates)
    for start in candidates:
        path = _path_back_to(graph, start, left)
        if path:
            return path
    return []


def _path_back_to(graph: Graph, start: str, allowed: set[str]) -> list[str]:
    """A dependency path start -> ... -> start, reversed into execution order, or ``[]``."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for dep in reversed(graph[node]):
            if dep == start:
                return list(reversed([*path, start]))
            if dep in allowed and dep not in seen:
                seen.add(dep)
                stack.append((dep, [*path, dep]))
    return []


def ancestors(graph: Graph, order: Sequence[str]) -> dict[str, list[str]]:
    """task -> every task it depends on, directly or through others, in execution order."""
    rank = {task: i for i, task in enumerate(order)}
    found: dict[str, set[str]] = {}
    for task in order:
        found[task] = set()
        for dep in graph[task]:
            found[task] |= {dep, *found[dep]}
    return {task: sorted(found[task], key=rank.__getitem__) for task in order}


def descendants(graph: Graph, roots: Sequence[str]) -> set[str]:
    """Every task that depends on one of ``roots``, directly or through others (roots excluded)."""
    dependants: dict[str, list[str]] = {task: [] for task in graph}
    for task, deps in graph.items():
        for dep in deps:
            dependants[dep].append(task)
    found: set[str] = set()
    stack = list(roots)
    while stack:
        for dependant in dependants[stack.pop()]:
            if dependant not in found:
                found.add(dependant)
                stack.append(dependant)
    return found
