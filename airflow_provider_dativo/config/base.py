"""The strict base model every configuration model shares."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Unknown keys are errors: a typo such as ``intervall_seconds`` must never be ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
