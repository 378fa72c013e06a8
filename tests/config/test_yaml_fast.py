"""The fast loader returns exactly what PyYAML's safe loader returns, and fails where it fails."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from airflow_provider_dativo.config.yaml_fast import FastSafeLoader, load_text

REPO = Path(__file__).resolve().parents[2]

DOCUMENTS = {
    "scalars": "a: 1\nb: 1.5\nc: true\nd: ~\ne: text\nf: '1'\ng: \"2\"\nh: null\ni: -0x1F\n",
    "yaml 1.1 booleans": "a: yes\nb: No\nc: on\nd: OFF\ne: y\nf: n\n",
    "yaml 1.1 numbers": "a: 0755\nb: 1_000\nc: 1:30\nd: 1e3\ne: 1.0e+3\nf: .inf\ng: -.Inf\n"
    "h: 0b101\ni: 0o17\n",
    "timestamps": "a: 2026-11-22\nb: 2026-11-22T04:13:23.058Z\nc: 2001-12-14 21:59:43.10 -5\n",
    "binary": "a: !!binary aGVsbG8=\n",
    "explicit tags": "a: !!str 12\nb: !!int '7'\nc: !!float 3\nd: !!null ''\n",
    "block scalars": "a: |\n  line one\n  line two\nb: >-\n  folded\n  text\n",
    "nested": "runner:\n  orchestrator:\n    schedules:\n      - {name: a, cron: '0 * * * *'}\n"
    "      - name: b\n        tags: {x: [1, 2, {y: z}]}\n",
    "anchors": "base: &b {k: 1}\none: *b\ntwo: *b\nlist: &l [1, 2]\nagain: *l\n",
    "merge keys": "base: &b {k: 1, j: 2}\nuse:\n  <<: *b\n  j: 3\n",
    "merge list": "a: &a {x: 1}\nb: &b {y: 2}\nc:\n  <<: [*a, *b]\n",
    "value key": "=: equals\n",
    "duplicate keys": "a: 1\na: 2\n",
    "set": "s: !!set {a, b}\n",
    "omap": "o: !!omap [{a: 1}, {b: 2}]\n",
    "pairs": "p: !!pairs [{a: 1}, {a: 2}]\n",
    "non-string keys": "1: one\ntrue: t\n~: n\n2026-01-01: d\n",
    "empty": "",
    "comment only": "# nothing\n",
    "scalar document": "just text\n",
    "list document": "- 1\n- two\n",
    "nan": "a: .nan\n",
    "long values": "a: " + "x" * 500 + "\nb: " + "1" * 300 + "\n",
    "unicode": 'a: héllo ✓\nb: "\\u00e9"\n',
    "document marker": "---\na: 1\n...\n",
    "same text quoted and plain": "a: '1'\nb: 1\nc: \"yes\"\nd: yes\ne: '~'\nf: ~\ng: ! 12\nh: |\n  12\n",
    "tagged keys and values": "!!str 1: !!str true\n? !!int '2'\n: x\n",
}

ERRORS = {
    "unknown tag": "a: !python/object:os.system x\n",
    "syntax": "a: [1, 2\n",
    "undefined alias": "a: *missing\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "bad timestamp": "a: !!timestamp 2026-13-45\n",
    "unhashable key": "? [a, b]\n: value\n",
    "unhashable key in merge": "a: &a [1]\nb:\n  <<: *a\n",
}


def pyyaml(text: str):
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def same(a, b) -> bool:
    """Equal, NaN included, and of the same types all the way down (True is not 1 here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.mark.parametrize("name", DOCUMENTS)
def test_same_data_as_pyyaml(name: str) -> None:
    text = DOCUMENTS[name]
    assert same(load_text(text), pyyaml(text)), name
    assert same(load_text(text), pyyaml(text)), f"{name} (second load, from the memo)"


def test_every_yaml_file_of_the_repository_loads_the_same() -> None:
    files = [p for p in REPO.rglob("*.yaml") if ".venv" not in p.parts and ".git" not in p.parts]
    assert len(files) > 20
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert same(load_text(text), pyyaml(text)), path


def test_aliases_are_the_same_object_and_recursion_works() -> None:
    data = load_text("a: &x {k: [1]}\nb: *x\n")
    assert data["a"] is data["b"]
    recursive = load_text("&r [1, *r]\n")
    assert recursive[1] is recursive
    reference = pyyaml("&r [1, *r]\n")
    assert reference[1] is reference  # what PyYAML does too


def test_memoized_values_are_never_shared_mutable_objects() -> None:
    first = load_text("a: [1, 2]\nb: {c: d}\n")
    first["a"].append(3)
    first["b"]["e"] = "f"
    assert load_text("a: [1, 2]\nb: {c: d}\n") == {"a": [1, 2], "b": {"c": "d"}}


@pytest.mark.parametrize("name", ERRORS)
def test_same_errors_as_pyyaml(name: str) -> None:
    text = ERRORS[name]
    with pytest.raises(Exception) as expected:
        pyyaml(text)
    with pytest.raises(type(expected.value)) as got:
        load_text(text)
    assert str(got.value) == str(expected.value)


def test_path_resolvers_are_refused_rather_than_ignored() -> None:
    with pytest.raises(TypeError, match="no path resolvers"):
        yaml.add_path_resolver("!custom", ["a"], dict, Loader=FastSafeLoader)
