"""Read YAML fast and safely, and find line numbers only when an error needs one.

The happy path uses libyaml's C loader (when PyYAML was built with it) through
:mod:`~airflow_provider_dativo.config.yaml_fast` and keeps no position information, so
parsing thousands of job files stays cheap. When validation
fails, :func:`line_of` re-composes the file to map a field path to its line.

Every file a user writes is hostile input here (a tenant writes its own job files), so a
read is bounded: a file larger than :data:`MAX_YAML_BYTES` is refused before it is parsed,
text that is not UTF-8 is a problem naming the byte offset, nesting deeper than
:data:`MAX_NESTING` is refused before libyaml's recursive composer could overflow the C stack
(a crash, not an exception, at some 30,000 levels), and a document whose aliases would expand to more than
:data:`MAX_ALIAS_EXPANSION` extra nodes (a "billion laughs" bomb) is refused before a single
alias is expanded: nothing that walks the data later can blow up.
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

MAX_YAML_BYTES = 32 << 20
"""Largest configuration file read (32 MiB; a runner of 10,000 schedules is about 1 MiB)."""
MAX_ALIAS_EXPANSION = 100_000
"""Most nodes that aliases (``*name``) may add to a document when it is expanded."""
MAX_NESTING = 200
"""Deepest nesting of mappings and sequences in a configuration file."""


def read_yaml(path: str | Path) -> Any:
    """Parse one YAML file; every way it can be unusable is a :class:`DativoConfigError`
    naming the file (and the line, or the byte offset, where known)."""
    path = path if isinstance(path, Path) else Path(path)
    text = read_text(path)
    try:
        check_nesting(text, path)
        if "&" not in text:  # no anchor, so no alias: nothing can expand
            return load_text(text)
        return _load_bounded(text, path)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise DativoConfigError.single(path, "", f"is not valid YAML: {exc.problem}", line) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character or "\0")
        raise DativoConfigError.single(
            path, "", f"is not valid YAML: character U+{code:04X} is not allowed in YAML text", line
        ) from None
    except yaml.YAMLError as exc:
        raise DativoConfigError.single(path, "", f"is not valid YAML: {exc}") from None
    except RecursionError:
        raise DativoConfigError.single(path, "", "is nested too deeply to be read") from None


def read_text(path: Path) -> str:
    """The UTF-8 text of a configuration file, or a :class:`DativoConfigError` saying why not."""
    try:
        with path.open("rb") as stream:  # in chunks: a device file (/dev/zero) never ends
            chunks, size = [], 0
            while size <= MAX_YAML_BYTES and (chunk := stream.read(1 << 20)):
                chunks.append(chunk)
                size += len(chunk)
            data = b"".join(chunks)
    except FileNotFoundError:
        raise DativoConfigError.single(path, "", "file does not exist") from None
    except OSError as exc:
        raise DativoConfigError.single(path, "", f"cannot be read: {exc.strerror or exc}") from None
    if len(data) > MAX_YAML_BYTES:
        raise DativoConfigError.single(
            path, "", f"is larger than {MAX_YAML_BYTES >> 20} MiB, the largest configuration file read"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DativoConfigError.single(
            path,
            "",
            f"is not UTF-8 text: byte 0x{data[exc.start]:02x} at byte offset {exc.start} "
            "cannot be decoded (save the file as UTF-8)",
            line,
        ) from None


def check_nesting(text: str, path: Path) -> None:
    """Refuse nesting deeper than :data:`MAX_NESTING`, measured on the parser's events (an
    iterative pass) only when a cheap bound says the document could be that deep: every level
    of flow nesting needs a ``[`` or ``{``, every level of block nesting a column of its line."""
    flow = text.count("[") + text.count("{")
    if flow + max(map(len, text.split("\n")), default=0) < MAX_NESTING:
        return
    depth = 0
    for event in yaml.parse(text, Loader=SafeLoader):
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_NESTING:
                line = event.start_mark.line + 1 if event.start_mark else None
                raise DativoConfigError.single(
                    path, "", f"is nested more than {MAX_NESTING} levels deep", line
                )
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1


def _load_bounded(text: str, path: Path) -> Any:
    """Compose the document (aliases stay shared nodes), measure what expanding them would
    cost, and construct the data only when that is within :data:`MAX_ALIAS_EXPANSION`."""
    loader = SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        distinct, expanded = _node_counts(node)
        if expanded - distinct > MAX_ALIAS_EXPANSION:
            raise DativoConfigError.single(
                path,
                "",
                f"its aliases (*name) would expand to more than {MAX_ALIAS_EXPANSION:,} extra nodes "
                f"({distinct:,} written); this looks like a YAML alias bomb and is refused",
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _node_counts(root: yaml.Node) -> tuple[int, int]:
    """(distinct nodes, nodes once every alias is expanded), without recursion or expansion.

    An alias is the same node object reached twice, so the expanded size of a node is one plus
    that of its children, computed once per distinct node (post-order, iteratively).
    """
    size: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in size:
            continue
        children = _children(node)
        if children_done or not children:
            total = 1
            for child in children:
                total = min(total + size[id(child)], 1 << 62)
            size[id(node)] = total
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in size)
    return len(size), size[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


@lru_cache(maxsize=256)
def _compose(path: str, mtime_ns: int) -> yaml.Node | None:
    text = read_text(Path(path))
    check_nesting(text, Path(path))
    return yaml.compose(text, Loader=SafeLoader)


def line_of(path: str | Path, loc: Sequence[object]) -> int | None:
    """Return the 1-based line of the deepest node of ``loc`` that exists in the file.

    A missing key (``loc`` names a required field that is absent) resolves to the line of
    its parent mapping, which is where the user has to add it. ``None`` when the file cannot
    be composed (it is missing, not UTF-8, not YAML).
    """
    try:
        p = Path(path)
        node = _compose(str(p), p.stat().st_mtime_ns)
    except (OSError, yaml.YAMLError, DativoConfigError, RecursionError):
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
