"""Kahn's order in waves, stable for equal ranks; cycles as paths; ancestors and descendants."""

from __future__ import annotations

from airflow_provider_dativo.workflows.graph import ancestors, descendants, find_cycle, topological_order


def test_order_is_by_rank_then_file_order() -> None:
    graph = {"late": ["b"], "a": [], "b": ["a"], "c": [], "d": ["a", "c"]}
    order, left = topological_order(graph)
    # rank 0: a, c (file order) / rank 1: b, d / rank 2: late
    assert order == ["a", "c", "b", "d", "late"] and left == []


def test_same_graph_written_in_another_order_changes_only_ties() -> None:
    order, _ = topological_order({"c": [], "a": [], "b": ["a"], "d": ["c", "a"]})
    assert order == ["c", "a", "b", "d"]


def test_duplicate_dependency_counts_once() -> None:
    assert topological_order({"a": [], "b": ["a", "a"]}) == (["a", "b"], [])


def test_two_task_cycle_reads_in_execution_direction() -> None:
    graph = {"sweep": ["report"], "report": ["sweep"], "brief": ["report"]}
    order, left = topological_order(graph)
    assert order == [] and left == ["sweep", "report", "brief"]
    assert find_cycle(graph, left) == ["sweep", "report", "sweep"]


def test_longer_cycle_behind_a_healthy_prefix() -> None:
    graph = {"ok": [], "tail": ["x"], "x": ["ok", "z"], "y": ["x"], "z": ["y"]}
    order, left = topological_order(graph)
    assert order == ["ok"]
    # tail is behind the cycle but not on it: the path starts at the first task that is
    assert find_cycle(graph, left) == ["x", "y", "z", "x"]


def test_self_dependency_is_a_cycle() -> None:
    graph = {"a": ["a"]}
    assert find_cycle(graph, topological_order(graph)[1]) == ["a", "a"]


def test_ancestors_are_transitive_and_ordered() -> None:
    graph = {"a": [], "b": ["a"], "c": ["b"], "e": [], "d": ["c", "e"]}
    order, _ = topological_order(graph)
    assert ancestors(graph, order) == {
        "a": [],
        "e": [],
        "b": ["a"],
        "c": ["a", "b"],
        "d": ["a", "e", "b", "c"],
    }


def test_descendants() -> None:
    graph = {"a": [], "b": ["a"], "c": ["b"], "e": []}
    assert descendants(graph, ["a"]) == {"b", "c"} and descendants(graph, ["c", "e"]) == set()
