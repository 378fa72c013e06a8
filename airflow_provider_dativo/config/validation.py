"""Turn pydantic validation errors into :class:`ConfigProblem` lines with file, line and field."""

from __future__ import annotations

import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from airflow_provider_dativo.config.errors import ConfigProblem, DativoConfigError, format_loc
from airflow_provider_dativo.config.yaml_source import line_of

M = TypeVar("M", bound=BaseModel)


def validate_model(
    model: type[M], data: Any, file: str | Path, prefix: Sequence[object] = (), *, context: str = ""
) -> M:
    """Validate ``data`` (found at ``prefix`` inside ``file``) or raise every problem at once."""
    if data is None:
        data = {}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise DativoConfigError(problems_from(exc, model, file, prefix, context=context)) from None


def problems_from(
    exc: ValidationError,
    model: type[BaseModel],
    file: str | Path,
    prefix: Sequence[object] = (),
    *,
    context: str = "",
) -> list[ConfigProblem]:
    """One problem per pydantic error, located in the YAML file."""
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(prefix) + tuple(err["loc"])
        problems.append(
            ConfigProblem(
                file=str(file),
                line=line_of(file, loc),
                field=format_loc(loc),
                message=context + _message(err, model),
            )
        )
    return problems


def _message(err: dict[str, Any], model: type[BaseModel]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, err["loc"][:-1])
        hint = f"; allowed keys: {', '.join(allowed)}" if allowed else ""
        return f"unknown key {err['loc'][-1]!r}{hint}"
    if kind == "missing":
        return "required field is missing"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"must be a mapping, got {type(err.get('input')).__name__}"
    msg = str(err["msg"])
    for noise in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(noise)
    return msg


def _allowed_keys(model: type[BaseModel], loc: Sequence[object]) -> list[str]:
    """Walk the model along ``loc`` to list the keys the offending mapping may hold."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return []
        if isinstance(part, int):
            continue
        field = current.model_fields.get(str(part))
        current = _model_in(field.annotation) if field else None
    return list(current.model_fields) if current else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
