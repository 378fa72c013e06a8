"""JSON Lines in chunks: Arrow's JSON reader where it agrees, Python's ``json`` for the rest.

A chunk of whole lines is read by ``pyarrow.json`` with an explicit schema: strings for
``string``, ``date`` and ``timestamp`` fields (their text is parsed by :mod:`..checks.casting`),
the exact Arrow type for decimals, and for ``int``, ``long``, ``double`` and ``boolean`` fields
the JSON form the file gives them. Those fields take bare numbers (booleans: ``true``/``false``)
or the same written as strings (``"7"``, ``"yes"``), one form per file: the form of the field's
first value in the file (:class:`JsonForms`). Arrow refuses a chunk whole when a value does not
fit its column, so such a chunk is read again line by line with Python's ``json`` (the careful
path), where each value that does not fit fails its own row:

* a value in the other form than the file's first (``"7"`` after ``7``: the type drifted), a
  number or boolean in a text field, a number in a boolean field, a boolean in a number or
  decimal field, an object or array anywhere is a **type failure of that row** (noted with
  :func:`..batch_notes.with_type_failures`, so warn mode quarantines the row and strict mode
  names file, line and field);
* decimals take numbers and strings alike, as Arrow's reader does (exponents included);
* text that is not JSON, a line that is not an object, a key given twice or a file that is
  not UTF-8 refuses the file, naming the line.

Both paths hand validation the same values (``tests/engine/sources/test_jsonl.py`` compares
them on generated lines); the careful path only runs for the chunks that need it.
"""

from __future__ import annotations

import json
import mmap
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.json as pajson

from airflow_provider_dativo.config.asset import Asset, AssetField
from airflow_provider_dativo.engine.batch_notes import Origin, line_at, with_origin, with_type_failures
from airflow_provider_dativo.engine.checks.schema import arrow_type
from airflow_provider_dativo.engine.errors import SourceError

TEXT_TYPES = ("string", "date", "timestamp")
"""Fields whose JSON values must be strings."""
EITHER_FORM_TYPES = ("int", "long", "double", "boolean")
"""Fields whose values may be bare or written as strings, one form per file."""
_NATIVE_FORM = {"int": "number", "long": "number", "double": "number", "boolean": "boolean"}
_PEEK_BYTES = 1 << 20
_EXPONENT = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+\s*")


class _Number(str):
    """A JSON number, kept as its literal text (``1.50`` stays ``1.50``)."""


class _DuplicateKey(ValueError):
    pass


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        keys = [key for key, _ in pairs]
        raise _DuplicateKey(next(key for key in keys if keys.count(key) > 1))
    return result


_DECODER = json.JSONDecoder(
    parse_float=_Number, parse_int=_Number, parse_constant=_Number, object_pairs_hook=_object
)


@dataclass
class JsonForms:
    """The JSON form (``number``, ``boolean`` or ``string``) of the first value of each field
    that takes either form, learnt as a file is read; one instance per file."""

    forms: dict[str, str] = field(default_factory=dict)

    def arrow_type(self, asset_field: AssetField) -> pa.DataType:
        """The type Arrow's reader reads the field as."""
        if asset_field.type in TEXT_TYPES:
            return pa.string()
        if asset_field.type not in EITHER_FORM_TYPES:
            return arrow_type(asset_field.type)  # decimals: numbers and strings alike
        form = self.forms.get(asset_field.name, _NATIVE_FORM[asset_field.type])
        if form == "string":
            return pa.string()
        if form == "boolean" or asset_field.type == "boolean":  # numbers are no booleans: refused
            return pa.bool_()
        return arrow_type(asset_field.type)

    def schema(self, asset: Asset) -> pa.Schema:
        return pa.schema([pa.field(f.name, self.arrow_type(f)) for f in asset.fields])

    def learn(self, table: pa.Table, asset: Asset) -> None:
        """A field still without a form takes the one Arrow read its first values in."""
        for asset_field in asset.fields:
            name = asset_field.name
            if asset_field.type not in EITHER_FORM_TYPES or name in self.forms:
                continue
            column = table.column(name)
            if column.null_count < len(column):
                type_ = column.type
                self.forms[name] = (
                    "string"
                    if pa.types.is_string(type_)
                    else "boolean"
                    if pa.types.is_boolean(type_)
                    else "number"
                )

    def peek(self, data: bytes, asset: Asset, lines: int = 100) -> None:
        """Learn the forms from the first lines of a file, so a file that writes its numbers
        as strings is read by Arrow from its first chunk on (text that is not JSON is left for
        the reader to report)."""
        open_fields = [
            f.name for f in asset.fields if f.type in EITHER_FORM_TYPES and f.name not in self.forms
        ]
        for raw in data.split(b"\n", lines)[:lines]:
            if not open_fields:
                return
            if not raw.strip():
                continue
            try:
                record = _DECODER.decode(raw.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                return
            if not isinstance(record, dict):
                return
            for name in list(open_fields):
                form = _form(record.get(name))
                if form in ("number", "boolean", "string"):
                    self.forms[name] = form
                    open_fields.remove(name)

    def check(self, name: str, form: str) -> bool:
        """Whether a value of ``form`` fits the field (its first value fixes the form)."""
        return self.forms.setdefault(name, form) == form


def _kind(value: Any) -> str:
    return {list: "array", bool: "boolean", _Number: "number", str: "string"}.get(type(value), "null")


def _form(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, _Number):
        return "number"
    if isinstance(value, str):
        return "string"
    return "nested"


def _literal(value: Any) -> str:
    """A scalar's text (a string itself, a number as written); an object or array as JSON."""
    if isinstance(value, (str, bool)):
        return _json(value) if isinstance(value, bool) else str(value)
    return _json(value)


def _json(value: Any) -> str:
    """``value`` written back as JSON, numbers as they were written."""
    if isinstance(value, _Number):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_json(v) for v in value) + "]"
    return json.dumps(value)


def _plain_decimal(text: str) -> str:
    """Decimal text without exponent (``1.5e2`` -> ``150``), as Arrow's reader takes it;
    anything else unchanged, for the decimal parser to judge."""
    if not _EXPONENT.fullmatch(text):
        return text
    try:
        value = Decimal(text.strip())
    except InvalidOperation:  # pragma: no cover - the pattern only admits valid decimals
        return text
    if value.is_zero():
        return "0"
    if abs(value.adjusted()) > 100:  # far beyond decimal(38, 38); left for the parser to refuse
        return text
    return format(value, "f")


def _value(value: Any, asset_field: AssetField, forms: JsonForms) -> tuple[str | None, bool]:
    """One JSON value as the text validation parses, and whether it already failed its type."""
    if value is None:
        return None, False
    form = _form(value)
    if form == "nested":
        return _literal(value), True
    type_name = asset_field.type
    if type_name in TEXT_TYPES:
        return _literal(value), form != "string"
    if type_name.startswith("decimal"):
        return _plain_decimal(_literal(value)), form == "boolean"
    drifted = not forms.check(asset_field.name, form)
    return _literal(value), drifted or (type_name == "boolean" and form == "number")


def _objects(text: str) -> Iterator[Any]:
    """Every JSON value of one line (Arrow's reader takes several objects on a line, too)."""
    position, end = 0, len(text)
    while True:
        while position < end and text[position] in " \t\r":
            position += 1
        if position >= end:
            return
        value, position = _DECODER.raw_decode(text, position)
        yield value


@dataclass
class JsonLinesReader:
    """Reads the chunks of one file (see the module docstring)."""

    path: Path
    asset: Asset
    forms: JsonForms = field(default_factory=JsonForms)
    _peeked: bool = False

    def read(self, offset: int, chunk: pa.Buffer) -> pa.Table:
        """One chunk of whole lines starting at byte ``offset`` of the file, noted with where
        its rows come from."""
        if not self._peeked:
            self.forms.peek(chunk.slice(0, min(chunk.size, _PEEK_BYTES)).to_pybytes(), self.asset)
            self._peeked = True
        try:
            table = pajson.read_json(
                pa.BufferReader(chunk),
                parse_options=pajson.ParseOptions(explicit_schema=self.forms.schema(self.asset)),
            )
            table.validate(full=True)  # Arrow's reader lets bytes that are not UTF-8 through
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return self.read_carefully(offset, chunk.to_pybytes())
        self.forms.learn(table, self.asset)
        return with_origin(table, Origin(str(self.path), "line", offset))

    def read_carefully(self, offset: int, data: bytes) -> pa.Table:
        """The careful path: every line with Python's ``json``, every value checked on its own."""
        names = [f.name for f in self.asset.fields]
        texts: dict[str, list[str | None]] = {name: [] for name in names}
        failed: dict[str, list[bool]] = {name: [] for name in names}
        extra: set[str] = set()
        for index, raw in enumerate(data.split(b"\n")):
            if not raw.strip():
                continue
            for record in self._records(raw, offset, index):
                extra.update(key for key in record if key not in texts)
                for asset_field in self.asset.fields:
                    text, bad = _value(record.get(asset_field.name), asset_field, self.forms)
                    texts[asset_field.name].append(text)
                    failed[asset_field.name].append(bad)
        columns = {name: pa.array(texts[name], pa.string()) for name in names}
        rows = len(texts[names[0]])
        columns.update({name: pa.nulls(rows, pa.string()) for name in sorted(extra)})  # refused by shaping
        table = with_type_failures(
            pa.table(columns), {name: pa.array(marks, pa.bool_()) for name, marks in failed.items()}
        )
        return with_origin(table, Origin(str(self.path), "line", offset))

    def _records(self, raw: bytes, offset: int, index: int) -> Iterator[dict[str, Any]]:
        """The objects of line ``index`` of the chunk at ``offset``."""

        def refuse(problem: str) -> SourceError:
            line = line_at(self.path, offset) + index
            return SourceError(f"{self.path}: cannot read JSON lines: {problem} at line {line}")

        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise refuse(
                f"bytes that are not UTF-8 ({exc.reason}, byte {exc.start + 1} of the line)"
            ) from None
        try:
            for value in _objects(text):
                if not isinstance(value, dict):
                    raise refuse(f"a JSON {_kind(value)} where an object was expected")
                yield value
        except _DuplicateKey as exc:
            raise refuse(f"key {exc.args[0]!r} given twice") from None
        except json.JSONDecodeError as exc:
            raise refuse(f"{exc.msg} (column {exc.colno})") from None


def line_chunks(path: Path, size: int) -> Iterator[tuple[int, pa.Buffer]]:
    """``(byte offset, bytes)`` of whole lines, about ``size`` bytes at a time, without copying:
    the file is memory-mapped and every chunk is a slice of it. The pages of a chunk are handed
    back once the next one is asked for (mapped pages count in the process's memory)."""
    file_size = path.stat().st_size
    if file_size == 0:
        return
    with open(path, "rb") as stream:
        mapped = mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)
    whole = pa.py_buffer(mapped)
    start = 0
    while start < file_size:
        stop = start + size
        end = file_size if stop >= file_size else mapped.rfind(b"\n", start, stop) + 1
        if end <= start:  # a line longer than a chunk: up to its end
            found = mapped.find(b"\n", stop)
            end = file_size if found < 0 else found + 1
        yield start, whole.slice(start, end - start)
        _release(mapped, start, end)
        start = end


def _release(mapped: mmap.mmap, start: int, end: int) -> None:
    """Drop the whole pages of ``[start, end)`` from the process (they stay in the page cache)."""
    first = -(-start // mmap.PAGESIZE) * mmap.PAGESIZE
    last = end // mmap.PAGESIZE * mmap.PAGESIZE
    if last > first and hasattr(mmap, "MADV_DONTNEED"):
        mapped.madvise(mmap.MADV_DONTNEED, first, last - first)
