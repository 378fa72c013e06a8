"""Flattening API records into asset-shaped text columns."""

from __future__ import annotations

import pytest

from airflow_provider_dativo.config.asset import Asset
from airflow_provider_dativo.engine.errors import ConfigError
from airflow_provider_dativo.engine.sources.api.records import RecordShaper, field_paths, lookup, value_text


@pytest.mark.parametrize(
    ("value", "type_name", "unit", "text"),
    [
        (None, "string", "s", None),
        (True, "boolean", "s", "true"),
        (1700000000, "timestamp", "s", "2023-11-14T22:13:20+00:00"),
        ("1572480000000", "timestamp", "ms", "2019-10-31T00:00:00+00:00"),
        ("1572480000000", "date", "ms", "2019-10-31"),
        ("2019-10-30T03:30:17.883Z", "timestamp", "ms", "2019-10-30T03:30:17.883Z"),
        ({"city": "Berlin"}, "string", "s", '{"city":"Berlin"}'),
        ([1, 2], "string", "s", "[1,2]"),
        (12.5, "double", "s", "12.5"),
        (1234, "long", "s", "1234"),
        (10**30, "timestamp", "s", str(10**30)),  # out of range: left for validation to reject
    ],
)
def test_value_text(value, type_name, unit, text) -> None:
    assert value_text(value, type_name, unit) == text


def test_paths_follow_nested_objects_and_missing_steps_are_null() -> None:
    record = {"address": {"country": "DE"}, "meta": None}
    assert lookup(record, ("address", "country")) == "DE"
    assert lookup(record, ("meta", "x")) is None and lookup(record, ("nope",)) is None


def test_shaper_builds_one_text_column_per_field() -> None:
    asset = Asset.model_validate(
        {"name": "a", "fields": [{"name": "id", "type": "string"}, {"name": "country", "type": "string"}]}
    )
    paths = field_paths(asset, {"country": "address.country"}, lambda name: (name,))
    table = RecordShaper(asset, paths, "s").table([{"id": "x", "address": {"country": "DE"}}, {"id": "y"}])
    assert table.to_pylist() == [{"id": "x", "country": "DE"}, {"id": "y", "country": None}]


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"nope": "a"}, "source.fields maps 'nope'"),
        ({"id": "a..b"}, "source.fields.id: 'a..b' is not a path"),
    ],
)
def test_bad_field_mappings_are_config_errors(mapping, message) -> None:
    asset = Asset.model_validate({"name": "a", "fields": [{"name": "id", "type": "string"}]})
    with pytest.raises(ConfigError, match=message):
        field_paths(asset, mapping, lambda name: (name,))
