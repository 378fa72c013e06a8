"""Load only the schedules that can become one given DAG: what a worker's parse needs.

A worker parses the DAG file to run one task of one DAG. It needs that schedule and its own
job (or workflow) file, nothing else: reading and validating a thousand other job files would
make every task try of a big deployment pay for all of them, and a broken or unreadable file
of another schedule must not fail it.

Which schedules can become DAG ``dag_id``: those named ``dag_id`` (the first healthy one is
the DAG; the others are its duplicates), for ``<name>__maintenance`` those named ``<name>``
(whose job's ``target.maintenance`` yields it), and, when ``dag_id`` is a placeholder's derived id
(``dativo_config_error__<name>__schedule_<i>``), schedule ``i``. Nothing else can yield that
dag_id, so loading just these gives the same DAG as loading them all (the factory checks the
id came out, and otherwise falls back to a full parse).

The runner file itself is read, but for a big one even parsing all its YAML costs more than
the rest of a worker's parse. So, when the file's layout allows it, only the text of the
candidate schedules is parsed: the block sequence under ``schedules:`` is cut into one piece
of lines per item, and the document is re-assembled from the lines before it, the pieces
that mention ``dag_id`` and the lines after it. That is exact only when the items' extent
depends on indentation alone, so the cut is used only when every line of the file is
*simple* (each quoted scalar and flow collection closes on the line it opens), the schedules
region holds no anchor, tab or carriage return, and the re-assembled document's schedules
are exactly the pieces, item by item, at the lines they were cut at. Otherwise the whole
file is parsed (the result is the same, only slower). No YAML library parses part of a
document, hence this hand-written cut.
"""

from __future__ import annotations

import contextlib
import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yaml.nodes import MappingNode, SequenceNode

from airflow_provider_dativo.config.errors import DativoConfigError
from airflow_provider_dativo.config.maintenance import MAINTENANCE_SUFFIX
from airflow_provider_dativo.config.runner import RunnerFile
from airflow_provider_dativo.config.validation import validate_model
from airflow_provider_dativo.config.yaml_fast import compose_and_load
from airflow_provider_dativo.config.yaml_source import check_nesting, read_text, read_yaml
from airflow_provider_dativo.plan.runner import RunnerPlan, load_schedules

PLACEHOLDER_ID = re.compile(r"dativo_config_error__.*__schedule_(\d+)")
"""The derived dag_id of a broken schedule (see
:func:`airflow_provider_dativo.dag_factory.config_error.config_error_dag_id`)."""

_SCHEDULES_KEY = re.compile(r"( *)schedules:[ ]*(?:#.*)?")
_QUOTE_OR_BRACKET = re.compile(r"[\"'\[\]{}]")
_CONTENT_LINE = re.compile(r"\n( *)[^ \n#]")
_ITEM = re.compile(r"-(?: |\n|$)")
_SIMPLE_LINE = re.compile(
    r"""(?:
        [^"'\[\]{}\#\s]                           # a character of a plain scalar, key or indicator
      | \s                                        # a space ('#' after it: the comment below)
      | (?<=[^\s\[{,])["']                        # a quote inside a word: literal text in YAML
      | (?:(?<=[\s\[{,])|^)"(?:[^"\\]|\\.)*"      # a double-quoted scalar that closes on the line
      | (?:(?<=[\s\[{,])|^)'(?:[^']|'')*'         # a single-quoted scalar that closes on the line
      | [\[{][^"'\[\]{}\#]*[\]}]                  # a flow collection without quotes or nesting
      | (?<=\S)\#                                 # '#' inside a word: not a comment
    )*
    (?:(?:(?<=\s)|^)\#.*)?                        # a comment to the end of the line
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class DagSelection:
    """The schedules that can become DAG ``dag_id``."""

    dag_id: str

    @property
    def placeholder_index(self) -> int | None:
        """Schedule ``i`` of a placeholder's derived id ``dativo_config_error__<name>__schedule_<i>``."""
        match = PLACEHOLDER_ID.fullmatch(self.dag_id)
        return int(match.group(1)) if match else None

    @property
    def schedule_name(self) -> str:
        """The schedule whose DAG ``dag_id`` may be: ``<name>`` of ``<name>__maintenance``."""
        return self.dag_id.removesuffix(MAINTENANCE_SUFFIX) or self.dag_id

    def pick(self, schedules: Iterable[tuple[int, Any]]) -> list[tuple[int, Any]]:
        """Those named ``dag_id`` (or the schedule of a maintenance DAG) and, for a placeholder's
        id, schedule ``i`` with every schedule of the same name (whether ``i`` gets a derived
        id depends on them)."""
        schedules = list(schedules)
        names = {self.dag_id, self.schedule_name}
        for index, raw in schedules:
            if index == self.placeholder_index and isinstance(_name(raw), str):
                names.add(_name(raw))
        return [(i, raw) for i, raw in schedules if _name(raw) in names or i == self.placeholder_index]


def _name(raw: Any) -> Any:
    return raw.get("name") if isinstance(raw, dict) else None


def load_one_dag(path: str | Path, dag_id: str, *, app_root: str | None = None) -> RunnerPlan:
    """The runner plan of the schedules that can become ``dag_id``, reading only their files."""
    path = Path(path)
    selection = DagSelection(dag_id)
    text = None
    if selection.placeholder_index is None:  # a placeholder needs its namesakes: parse everything
        # read_yaml below reports an unreadable, oversized or non-UTF-8 file as the full load would
        with contextlib.suppress(DativoConfigError):
            text = read_text(path)
    cut = _schedules_of_cut(text, selection.schedule_name) if text is not None else None
    if cut is None:
        runner = validate_model(RunnerFile, read_yaml(path), path)
        indexed: Iterable[tuple[int, Any]] = enumerate(runner.runner.orchestrator.schedules)
    else:
        runner, indexed = cut
    return load_schedules(path, runner, selection.pick(indexed), app_root=app_root)


@dataclass(frozen=True)
class ScheduleCut:
    """The block sequence under ``schedules:`` cut into one piece of text per item."""

    text: str
    starts: list[int]  # offset of each item's first line; item i ends where item i+1 starts
    end: int  # offset of the first line after the sequence (or the end of the text)

    def piece(self, index: int) -> tuple[int, int]:
        stop = self.starts[index + 1] if index + 1 < len(self.starts) else self.end
        return self.starts[index], stop

    def mentioning(self, word: str) -> set[int]:
        """The items whose text contains ``word``."""
        found, at = set(), self.text.find(word, self.starts[0], self.end)
        while at != -1:
            found.add(bisect_right(self.starts, at) - 1)
            at = self.text.find(word, at + 1, self.end)
        return found


def cut_schedules(text: str) -> ScheduleCut | None:
    """Cut the schedules of a runner file's text; ``None`` when its layout does not allow an
    exact cut (see the module's docstring)."""
    if "\t" in text or "\r" in text:
        return None
    key = _schedules_key(text)
    if key is None or not _every_line_is_simple(text):
        return None
    key_end, key_indent = key
    first = _CONTENT_LINE.search(text, key_end)
    if first is None:
        return None
    indent = len(first.group(1))
    if indent == 0 or indent < key_indent or not _ITEM.match(text, first.end(1)):
        return None  # not a block sequence (flow style, empty, or something else)
    start = first.start(1)
    after = _sequence_end(indent).search(text, start)
    end = after.start() + 1 if after else len(text)
    marker = "\n" + " " * indent + "-"
    starts, at = [start], text.find(marker, start, end)
    while at != -1:
        if _ITEM.match(text, at + 1 + indent):
            starts.append(at + 1)
        at = text.find(marker, at + 1, end)
    if _has_anchor(text, start, end):
        return None  # an alias could refer to an anchor in an item left out
    return ScheduleCut(text, starts, end)


def _schedules_key(text: str) -> tuple[int, int] | None:
    """Where the only ``schedules:`` key line ends, and its indentation."""
    found, at = None, text.find("schedules:")
    while at != -1:
        line_start = text.rfind("\n", 0, at) + 1
        line_end = text.find("\n", at)
        line_end = len(text) if line_end == -1 else line_end
        match = _SCHEDULES_KEY.fullmatch(text, line_start, line_end)
        if match:
            if found is not None:
                return None
            found = (line_end, len(match.group(1)))
        at = text.find("schedules:", at + 1)
    return found


def _every_line_is_simple(text: str) -> bool:
    """No quoted scalar or flow collection of the text goes on past the end of its line."""
    checked = -1
    for match in _QUOTE_OR_BRACKET.finditer(text):
        if match.start() <= checked:
            continue
        line_start = text.rfind("\n", 0, match.start()) + 1
        checked = text.find("\n", match.start())
        checked = len(text) if checked == -1 else checked
        if _SIMPLE_LINE.fullmatch(text[line_start:checked]) is None:
            return False
    return True


def _has_anchor(text: str, start: int, end: int) -> bool:
    """Whether an anchor (``&name`` at the start of a node) may be defined between the offsets."""
    at = text.find("&", start, end)
    while at != -1:
        if text[at - 1] in " \n[{," and at + 1 < len(text) and not text[at + 1].isspace():
            return True
        at = text.find("&", at + 1, end)
    return False


def _sequence_end(indent: int) -> re.Pattern[str]:
    """The newline before the first line that ends a block sequence whose items are at ``indent``:
    less indented, or as indented but no item (comments and blank lines end nothing)."""
    less, same = f" {{0,{indent - 1}}}", f" {{{indent}}}"
    return re.compile(rf"\n(?:{less}(?=[^ \n#])|{same}(?=[^ \n#])(?!-(?: |\n|$)))")


def _schedules_of_cut(text: str, name: str) -> tuple[RunnerFile, list[tuple[int, Any]]] | None:
    """The validated runner and the schedules whose text mentions ``name``, from the
    re-assembled document; ``None`` when the cut cannot be used or does not check out (the
    caller parses everything)."""
    if "&" in text:
        return None  # an anchor anywhere: only the bounded full load may expand its aliases
    if not text.endswith("\n"):
        text += "\n"  # the same YAML; every item's piece then ends with its line break
    cut = cut_schedules(text)
    if cut is None:
        return None
    chosen = cut.mentioning(name)
    if not chosen:
        return None
    parts = [text[: cut.starts[0]]]
    line = text.count("\n", 0, cut.starts[0])
    spans = []  # the lines each chosen item must occupy in the re-assembled text
    for index in sorted(chosen):
        first, stop = cut.piece(index)
        parts.append(text[first:stop])
        lines = text.count("\n", first, stop)
        spans.append((line, line + lines))
        line += lines
    parts.append(text[cut.end :])
    try:
        assembled = "".join(parts)
        check_nesting(assembled, Path("<cut>"))  # refused like the full load (which then reports it)
        data, root = compose_and_load(assembled)
        items = _schedules_node(root)
        if items is None or len(items) != len(spans):
            return None
        for node, (first_line, stop_line) in zip(items, spans, strict=True):
            if not first_line <= node.start_mark.line < max(stop_line, first_line + 1):
                return None
            if node.end_mark.line > stop_line:
                return None
        runner = validate_model(RunnerFile, data, "<cut>")
    except Exception:  # anything unexpected: parse the whole file, which reports it properly
        return None
    schedules = runner.runner.orchestrator.schedules
    return runner, list(zip(sorted(chosen), schedules, strict=True))


def _schedules_node(root: Any) -> list[Any] | None:
    """The item nodes of ``runner.orchestrator.schedules`` in a composed document."""
    node = root
    for key in ("runner", "orchestrator", "schedules"):
        if not isinstance(node, MappingNode):
            return None
        node = next((value for k, value in node.value if getattr(k, "value", None) == key), None)
    if not isinstance(node, SequenceNode):
        return None
    return list(node.value)
