"""The strict base model every configuration model shares."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Unknown keys are errors: a typo such as ``intervall_seconds`` must never be ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def check_regex(pattern: str) -> str:
    """Reject a regular expression that does not compile, with Python's reason."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{pattern!r} is not a valid regular expression: {exc}") from None
    return pattern
