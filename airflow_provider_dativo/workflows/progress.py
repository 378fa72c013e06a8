"""Progress lines of ``dativo workflow run``, one when each task starts and one when it ends.

On a terminal they read like seed 004's runner, with symbols and colour::

    ▶ 1/3 sweep [RUNNING]
    ✓ sweep completed in 0.52s
    ↻ report: try 1 of 2 failed (RuntimeError: boom); next try in 5s
    ✗ report failed after 2 tries in 5.61s: RuntimeError: boom
    ○ 3/3 brief cached (unchanged since its success in run cli__... at 2026-...)

Anywhere else (a CI log, a pipe, a file; or ``TERM=dumb``) the same lines are plain ASCII with
a word in place of the symbol (``RUN``, ``OK``, ``RETRY``, ``FAIL``, ``CACHED``, ``SKIP``), which
greps well and never shows escape codes. ``NO_COLOR`` keeps the symbols but drops the colour.
The lines go to the stream given (the CLI's stderr), and that stream decides the style.
"""

from __future__ import annotations

from typing import TextIO

from airflow_provider_dativo.settings import colour_allowed, dumb_terminal

_STYLES = {  # kind: (symbol, plain word, ANSI colour)
    "run": ("▶", "RUN", "36"),
    "ok": ("✓", "OK", "32"),
    "retry": ("↻", "RETRY", "33"),
    "fail": ("✗", "FAIL", "31"),
    "cached": ("○", "CACHED", "34"),
    "skip": ("·", "SKIP", "90"),
}


def is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not dumb_terminal()


class Progress:
    """Writes the progress lines of one run to ``stream`` (none when ``stream`` is ``None``).

    :param total: number of tasks in the plan (the ``n/total`` of each line).
    :param styled: symbols and colour; default: when ``stream`` is a terminal.
    """

    def __init__(self, stream: TextIO | None, total: int, *, styled: bool | None = None) -> None:
        self.stream = stream
        self.total = total
        self.styled = is_terminal(stream) if styled is None and stream is not None else bool(styled)
        self.colour = self.styled and colour_allowed()

    def started(self, number: int, task_id: str, attempt: int, tries: int, why: str = "") -> None:
        """``why``: what makes the task run in a ``--changed``/``--resume`` run (first try only)."""
        note = f" (try {attempt} of {tries})" if attempt > 1 else f" ({why})" if why else ""
        self._line("run", f"{number}/{self.total} {task_id} [RUNNING]{note}")

    def succeeded(self, task_id: str, seconds: float, rows: int | None) -> None:
        counted = f", {rows:,} rows" if rows is not None else ""
        self._line("ok", f"{task_id} completed in {seconds:.2f}s{counted}")

    def retrying(self, task_id: str, attempt: int, tries: int, delay: float, error: str) -> None:
        self._line("retry", f"{task_id}: try {attempt} of {tries} failed ({error}); next try in {delay:g}s")

    def failed(self, task_id: str, attempts: int, seconds: float, error: str) -> None:
        tries = "try" if attempts == 1 else "tries"
        self._line("fail", f"{task_id} failed after {attempts} {tries} in {seconds:.2f}s: {error}")

    def cached(self, number: int, task_id: str, reason: str) -> None:
        self._line("cached", f"{number}/{self.total} {task_id} cached ({reason})")

    def skipped(self, number: int, task_id: str, reason: str) -> None:
        self._line("skip", f"{number}/{self.total} {task_id} skipped: {reason}")

    def _line(self, kind: str, text: str) -> None:
        if self.stream is None:
            return
        symbol, word, colour = _STYLES[kind]
        if not self.styled:
            line = f"{word:<4} {text}"
        elif self.colour:
            line = f"\033[{colour}m{symbol}\033[0m {text}"
        else:
            line = f"{symbol} {text}"
        print(line, file=self.stream, flush=True)
