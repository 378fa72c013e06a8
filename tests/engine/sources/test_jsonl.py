"""JSON Lines: Arrow's reader and the careful path agree, and a value of the wrong JSON type
fails its own row, never the file."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_dativo.config.asset import Asset
from airflow_provider_dativo.engine import batch_notes
from airflow_provider_dativo.engine.checks.validation import validate
from airflow_provider_dativo.engine.errors import SourceError
from airflow_provider_dativo.engine.sources.jsonl import JsonLinesReader, line_chunks
from tests.support.arrow_values import comparable

ASSET = Asset.model_validate(
    {
        "name": "mixed",
        "fields": [
            {"name": "s", "type": "string"},
            {"name": "d", "type": "date"},
            {"name": "t", "type": "timestamp"},
            {"name": "n", "type": "long"},
            {"name": "i", "type": "int"},
            {"name": "x", "type": "double"},
            {"name": "y", "type": "double", "allow_nan": True},
            {"name": "b", "type": "boolean"},
            {"name": "m", "type": "decimal(12,2)"},
        ],
    }
)
PATH = Path("data/acme/events.jsonl")


def checked(table: pa.Table) -> tuple[dict[str, list[object]], dict[str, list[bool]]]:
    """What validation makes of a batch: the typed values of its valid records and the failure
    masks per rule."""
    raw, noted = batch_notes.split(table)
    report = validate(raw, ASSET, noted)
    valid = report.valid_table()
    values = {name: comparable(valid.column(name)) for name in valid.column_names}
    return values, {key: pc.fill_null(mask, False).to_pylist() for key, mask in report.failure_masks.items()}


def both_paths(lines: list[str]) -> tuple[pa.Table | None, pa.Table]:
    """Arrow's read of the chunk (None when it refuses it) and the careful path's, each with
    the forms a reader learns from the file's first lines."""
    data = ("\n".join(lines) + "\n").encode()
    fast_reader, careful_reader = JsonLinesReader(PATH, ASSET), JsonLinesReader(PATH, ASSET)
    fast_reader.forms.peek(data, ASSET)
    careful_reader.forms.peek(data, ASSET)
    options = pajson.ParseOptions(explicit_schema=fast_reader.forms.schema(ASSET))
    try:
        fast = pajson.read_json(io.BytesIO(data), parse_options=options)
    except pa.ArrowInvalid:
        fast = None
    return fast, careful_reader.read_carefully(0, data)


# --------------------------------------------------------------------------- generated lines

numbers = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(
        ["0", "-0", "7", "7.0", "7.5", "12.50", "0.125", "1e2", "1.5E-3", "-2e0", "1e-400", "4.9e-324"]
    ),
)
constants = st.sampled_from(["NaN", "Infinity", "-Infinity"])
texts = st.one_of(
    st.sampled_from(
        [
            "7",
            "7.5",
            " 7",
            "+5",
            "1e2",
            "abc",
            "",
            "true",
            "yes",
            "2024-01-02",
            "2024-02-30",
            "2024-01-02T03:04:05",
            "2024-01-02 03:04:05.123456789",
            "2024-01-02T03:04:05Z",
            "2024-01-02T03:04:05.1234567891+02:00",
            "NaN",
            "-Infinity",
            "12.50",
            "0x1F",
        ]
    ),
    st.text(max_size=6),
).map(json.dumps)
bools = st.sampled_from(["true", "false"])
nested = st.sampled_from(['{"a": 1}', "[1, 2]", "[]", "{}"])


def mostly(usual: st.SearchStrategy[str], rare: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """``usual`` nineteen times in twenty, ``rare`` otherwise."""
    return st.integers(0, 19).flatmap(lambda k: rare if k == 0 else usual)


integers = mostly(
    st.integers(-(2**31), 2**31 - 1).map(str), st.sampled_from(["2147483648", "-0", "7.0", "1e2"])
)
amounts = mostly(
    st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False).map(str),
    st.sampled_from(["1.234", "1e2", "1.5E-3", "4.9e-324", "0e400"]),
)
KINDS = {
    "number": numbers,
    "integer": integers,
    "amount": amounts,
    "amount text": amounts.map(json.dumps),
    "constant": constants,
    "text": texts,
    "bool": bools,
    "nested": nested,
}
NATURAL = {  # kinds a field of each type usually gets in a file Arrow reads whole
    "string": [["text"]],
    "date": [["text"]],
    "timestamp": [["text"]],
    "long": [["integer"], ["text"]],
    "int": [["integer"], ["text"]],
    "double": [["number", "constant"], ["number"], ["text"]],
    "boolean": [["bool"], ["text"]],
    "decimal(12,2)": [["amount"], ["amount text"], ["amount", "amount text"]],
}


@st.composite
def files(draw: st.DrawFn) -> list[str]:
    """A few lines. Each field gets the JSON values its type usually has, in one form through
    the file (so Arrow reads many files whole), or any mix of kinds."""
    kinds = {}
    for asset_field in ASSET.fields:
        if draw(st.integers(0, 11)):
            chosen = draw(st.sampled_from(NATURAL[asset_field.type]))
        else:
            chosen = draw(st.lists(st.sampled_from(list(KINDS)), min_size=1, max_size=2, unique=True))
        kinds[asset_field.name] = st.one_of(*(KINDS[k] for k in chosen))
    lines = []
    for _ in range(draw(st.integers(1, 6))):
        parts = []
        for name, values in kinds.items():
            presence = draw(st.sampled_from(["value", "value", "value", "null", "missing"]))
            if presence != "missing":
                parts.append(f'"{name}": {draw(values) if presence == "value" else "null"}')
        lines.append("{" + ", ".join(parts) + "}")
    return lines


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files())
def test_arrow_and_the_careful_path_give_validation_the_same_values(lines: list[str]) -> None:
    fast, careful = both_paths(lines)
    if fast is not None:
        assert checked(fast) == checked(careful)


def test_the_generated_files_are_often_read_by_arrow() -> None:
    """The comparison above means something only if Arrow accepts a good share of the files."""
    accepted = []

    @settings(max_examples=200, deadline=None, database=None)
    @given(files())
    def count(lines: list[str]) -> None:
        accepted.append(both_paths(lines)[0] is not None)

    count()
    assert sum(accepted) >= len(accepted) // 5


# --------------------------------------------------------------------------- behaviour


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "events.jsonl"


def read_file(path: Path, lines: list[str | bytes], before: int = 0) -> pa.Table:
    """The chunk of ``lines`` that follows ``before`` other lines in the same file."""
    prefix = "".join(f'{{"n": {i}}}\n' for i in range(before)).encode()
    body = b"".join((line if isinstance(line, bytes) else line.encode()) + b"\n" for line in lines)
    path.write_bytes(prefix + body)
    chunks = list(line_chunks(path, len(prefix) or 1 << 30))
    offset, chunk = chunks[-1] if before else chunks[0]
    assert offset == len(prefix) and chunk.size == len(body)
    return JsonLinesReader(path, ASSET).read(offset, chunk)


def read(path: Path, lines: list[str]) -> tuple[pa.Table, dict[str, list[bool]]]:
    table = read_file(path, lines)
    return table, checked(table)[1]


def test_a_drifting_json_type_fails_only_its_row(path: Path) -> None:
    table, failures = read(path, ['{"n": 7}', '{"n": "7"}', '{"n": 8}', '{"n": {"v": 9}}'])
    assert failures["n.type"] == [False, True, False, True]
    assert batch_notes.origin_of(table).locate(1) == f"{path}, line 2"


def test_numbers_written_as_strings_throughout_are_values(path: Path) -> None:
    table, failures = read(path, ['{"n": "7", "x": "1.5", "b": "yes"}', '{"n": "8", "x": "-2", "b": "no"}'])
    assert "n.type" not in failures and "x.type" not in failures and "b.type" not in failures
    assert batch_notes.split(table)[1] == {}  # Arrow read it: no careful path
    values, _ = checked(table)
    assert (values["n"], values["x"], values["b"]) == ([7, 8], [1.5, -2.0], [True, False])


def test_text_fields_take_strings_only_and_decimals_take_both(path: Path) -> None:
    _, failures = read(path, ['{"s": "a", "m": 1.5}', '{"s": 7, "m": "2.25"}', '{"s": true, "m": true}'])
    assert failures["s.type"] == [False, True, True]
    assert failures["m.type"] == [False, False, True]


def test_not_a_number_is_a_type_failure_unless_the_field_allows_it(path: Path) -> None:
    lines = ['{"x": NaN, "y": NaN}', '{"x": Infinity, "y": -Infinity}', '{"x": 1, "y": 2}']
    table, failures = read(path, lines)
    assert failures["x.type"] == [True, True, False]
    assert "y.type" not in failures
    raw, _ = batch_notes.split(table)
    assert comparable(validate(raw, ASSET).table.column("y")) == ["NaN", float("-inf"), 2.0]


@pytest.mark.parametrize(
    "lines",
    [
        ['{"n": 1}', "", "  ", '{"n": "x"}'],  # the careful path (the type drifts)
        ['{"n": 1}', "", "  ", '{"n": 2}'],  # Arrow's reader
    ],
)
def test_blank_lines_keep_line_numbers_right(path: Path, lines: list[str]) -> None:
    table = read_file(path, lines, before=9)
    assert table.num_rows == 2
    assert batch_notes.origin_of(table).locate(0) == f"{path}, line 10"
    assert batch_notes.origin_of(table).locate(1) == f"{path}, line 13"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"n": 1', "Expecting ',' delimiter"),
        ("[1, 2]", "a JSON array where an object was expected"),
        ('{"n": 1, "n": 2}', "key 'n' given twice"),
        (b'{"s": "\xff"}', "not UTF-8"),
    ],
)
def test_text_that_is_not_json_lines_refuses_the_file_naming_the_line(
    path: Path, line: str | bytes, problem: str
) -> None:
    with pytest.raises(SourceError, match=problem) as raised:
        read_file(path, ['{"n": 1}', line], before=40)
    assert f"{path}: cannot read JSON lines:" in str(raised.value) and "at line 42" in str(raised.value)
