"""Asset files: the schema a job's data is validated against and its Iceberg table built from."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from airflow_provider_dativo.config.base import StrictModel, check_regex

_SIMPLE_TYPES = ("string", "int", "long", "double", "boolean", "date", "timestamp")
_DECIMAL = re.compile(r"^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RE2_UNSUPPORTED = re.compile(r"\(\?<?[=!]|\\[1-9]|\(\?P=")
"""Look-around, numbered and named backreferences: Python syntax that RE2 rejects."""


def decimal_precision_scale(type_name: str) -> tuple[int, int] | None:
    """Return ``(precision, scale)`` for ``decimal(p,s)``, ``None`` for other types."""
    match = _DECIMAL.match(type_name)
    return (int(match.group(1)), int(match.group(2))) if match else None


class AssetField(StrictModel):
    """One column: its type, whether it is required, and the rules its values must follow."""

    name: Annotated[str, Field(min_length=1)]
    type: str
    required: bool = False
    description: str | None = None
    pattern: str | None = None
    enum: list[Any] | None = None
    min: float | None = None
    max: float | None = None
    allow_nan: Annotated[
        bool,
        Field(
            description=(
                "double fields only: NaN and Infinity (-Infinity) are valid values. Without it they "
                "fail the field's type rule."
            )
        ),
    ] = False

    @field_validator("name")
    @classmethod
    def _identifier(cls, name: str) -> str:
        if not _NAME.match(name):
            raise ValueError(f"{name!r} is not a valid column name (letters, digits, underscore)")
        return name

    @field_validator("type")
    @classmethod
    def _known_type(cls, type_name: str) -> str:
        type_name = type_name.strip().lower()
        if type_name in _SIMPLE_TYPES:
            return type_name
        ps = decimal_precision_scale(type_name)
        if ps is None:
            raise ValueError(
                f"unknown type {type_name!r}; use one of {', '.join(_SIMPLE_TYPES)} or decimal(p,s)"
            )
        precision, scale = ps
        if not 1 <= precision <= 38 or scale > precision:
            raise ValueError(f"{type_name}: precision must be 1..38 and scale <= precision")
        return f"decimal({precision},{scale})"

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, pattern: str | None) -> str | None:
        if pattern is None:
            return None
        unsupported = _RE2_UNSUPPORTED.search(pattern)
        if unsupported:
            raise ValueError(
                f"{pattern!r} uses {unsupported.group(0)!r}: asset patterns are checked with RE2 "
                "(pyarrow), which has no look-around or backreferences"
            )
        return check_regex(pattern)

    @model_validator(mode="after")
    def _rules_fit_type(self) -> AssetField:
        numeric = self.type in ("int", "long", "double") or self.type.startswith("decimal")
        if (self.min is not None or self.max is not None) and not numeric:
            raise ValueError(f"min/max apply to numeric types only, not {self.type}")
        if self.pattern is not None and self.type != "string":
            raise ValueError(f"pattern applies to string fields only, not {self.type}")
        if self.allow_nan and self.type != "double":
            raise ValueError(f"allow_nan applies to double fields only, not {self.type}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is greater than max ({self.max:g})")
        return self


class Asset(StrictModel):
    """A named schema; ``fields`` order is the table's column order."""

    name: Annotated[str, Field(min_length=1)]
    version: str | None = None
    description: str | None = None
    owner: str | None = None
    fields: Annotated[list[AssetField], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_field_names(self) -> Asset:
        seen: set[str] = set()
        for field in self.fields:
            if field.name in seen:
                raise ValueError(f"field {field.name!r} is defined twice")
            seen.add(field.name)
        return self
