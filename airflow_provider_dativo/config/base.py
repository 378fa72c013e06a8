"""The strict base model every configuration model shares, and the regular-expression check."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict

from airflow_provider_dativo.config.limits import MAX_PATTERN_LENGTH


class StrictModel(BaseModel):
    """Unknown keys are errors: a typo such as ``intervall_seconds`` must never be ignored.

    ``inf`` and ``nan`` (``.inf``, ``1e400`` in YAML) are never valid numbers of a setting.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)


@lru_cache(maxsize=1)
def _re2_options() -> Any:
    import re2  # google-re2: small, and only needed once a pattern is checked or matched

    options = re2.Options()
    options.log_errors = False  # RE2 would print every rejected pattern on stderr
    return options


@lru_cache(maxsize=512)
def compile_regex(pattern: str) -> Any:
    """A user's regular expression compiled by RE2, which matches in time linear in the text:
    no pattern (``(a+)+b`` included) can make a match backtrack for ever."""
    import re2

    return re2.compile(pattern, _re2_options())


def check_regex(pattern: str) -> str:
    """Reject a regular expression that RE2 cannot run (look-around, backreferences, possessive
    quantifiers...) or that is longer than :data:`MAX_PATTERN_LENGTH`, with RE2's reason."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(f"regular expression is longer than {MAX_PATTERN_LENGTH} characters")
    try:
        compile_regex(pattern)
    except Exception as exc:  # re2.error; its message is bytes
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValueError(
            f"{pattern!r} is not a valid regular expression for RE2: {reason} (patterns run on RE2, "
            "which has no look-around or backreferences and matches in linear time)"
        ) from None
    return pattern
