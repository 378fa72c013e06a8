"""Read YAML fast, and find line numbers only when an error needs one.

The happy path uses libyaml's C loader (when PyYAML was built with it) through
:mod:`~airflow_provider_dativo.config.yaml_fast` and keeps no position information, so
parsing thousands of job files stays cheap. When validation
fails, :func:`line_of` re-composes the file to map a field path to its line.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from airflow_provider_dativo.config.errors import DativoConfigError
from airflow_provider_dativo.config.yaml_fast import load_text

SafeLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: str | Path) -> Any:
    """Parse one YAML file; syntax errors become a :class:`DativoConfigError` with the line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DativoConfigError.single(path, "", "file does not exist") from None
    except OSError as exc:
        raise DativoConfigError.single(path, "", f"cannot be read: {exc.strerror or exc}") from None
    try:
        return load_text(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise DativoConfigError.single(path, "", f"is not valid YAML: {exc.problem}", line) from None
    except yaml.YAMLError as exc:
        raise DativoConfigError.single(path, "", f"is not valid YAML: {exc}") from None


@lru_cache(maxsize=256)
def _compose(path: str, mtime_ns: int) -> yaml.Node | None:
    text = Path(path).read_text(encoding="utf-8")
    return yaml.compose(text, Loader=SafeLoader)


def line_of(path: str | Path, loc: Sequence[object]) -> int | None:
    """Return the 1-based line of the deepest node of ``loc`` that exists in the file.

    A missing key (``loc`` names a required field that is absent) resolves to the line of
    its parent mapping, which is where the user has to add it.
    """
    try:
        p = Path(path)
        node = _compose(str(p), p.stat().st_mtime_ns)
    except (OSError, yaml.YAMLError):
        return None
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        child = _child(node, part)
        if child is None:
            break
        key_node, node = child
        line = (key_node or node).start_mark.line + 1
    return line


def _child(node: yaml.Node, part: object) -> tuple[yaml.Node | None, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return key, value
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return None, node.value[part]
    return None
