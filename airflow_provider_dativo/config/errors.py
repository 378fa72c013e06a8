"""Errors that point a user at the exact place of a mistake: file, line and field."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in one file. ``line`` is 1-based, ``None`` when unknown."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class DativoConfigError(ValueError):
    """Raised when a runner, job or asset file is invalid; carries every problem found."""

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid configuration")

    @classmethod
    def single(cls, file: str | Path, field: str, message: str, line: int | None = None) -> DativoConfigError:
        """Build an error with one problem; a convenience for checks outside pydantic."""
        return cls([ConfigProblem(str(file), line, field, message)])


def format_loc(loc: Iterable[object]) -> str:
    """Render a pydantic/YAML location tuple as ``a.b[2].c``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
