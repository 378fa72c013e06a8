"""Mask secret values in text, events and log records before they leave the engine.

A job with ``logging.redaction: true`` hands every secret value it loaded to a
:class:`Redactor`; from then on each occurrence of a value (or of its URL-, JSON- or
repr-escaped form, as it appears inside URIs and exception text) is replaced by ``***``.
Overlapping values are masked as one span, so no fragment of either survives.

Values shorter than :data:`MIN_MASKED_LENGTH` are not masked: masking ``"1"`` or ``"yes"``
would garble every log line while protecting nothing. The threshold is the default of
Airflow's ``[logging] min_length_masked_secret``, so a value is masked by both or by neither.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import urllib.parse
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

MASK = "***"
MIN_MASKED_LENGTH = 5
"""Shortest value that is masked (Airflow's default ``min_length_masked_secret``)."""

T = TypeVar("T")
_PLAIN = (int, float, bool, type(None))


def _variants(value: str) -> set[str]:
    """The forms a value takes inside URIs, JSON text and reprs (e.g. an exception message)."""
    return {
        value,
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote_plus(value, safe=""),
        json.dumps(value, ensure_ascii=False)[1:-1],
        json.dumps(value)[1:-1],
        repr(value)[1:-1],
    }


class Redactor:
    """Replaces known secret values by ``***`` in strings and in nested dicts, lists and tuples.

    Values can be added at any time (secrets are loaded after a run has started), and every
    holder of the redactor sees them at once.
    """

    def __init__(self, values: Iterable[str] = (), *, min_length: int = MIN_MASKED_LENGTH) -> None:
        self.min_length = min_length
        self._patterns: set[str] = set()
        self._regex: re.Pattern[str] | None = None
        self.add(values)

    def __repr__(self) -> str:  # never the values
        return f"Redactor({len(self._patterns)} patterns)"

    @property
    def active(self) -> bool:
        """Whether any value is masked at all (a redactor without values changes nothing)."""
        return self._regex is not None

    def masks(self, value: str) -> bool:
        """Whether ``value`` is long enough to be masked."""
        return len(value) >= self.min_length

    def add(self, values: Iterable[str]) -> None:
        """Mask ``values`` from now on; empty and too-short values are ignored."""
        before = len(self._patterns)
        for value in values:
            if isinstance(value, str) and self.masks(value):
                self._patterns.update(v for v in _variants(value) if len(v) >= self.min_length)
        if len(self._patterns) != before:
            # Longest first: at each position the longest value wins, so "abc-long" is not cut
            # after "abc" when both are secrets. The lookahead finds overlapping occurrences.
            ordered = sorted(self._patterns, key=lambda p: (-len(p), p))
            self._regex = re.compile("(?=(" + "|".join(re.escape(p) for p in ordered) + "))")

    def redact_text(self, text: str) -> str:
        """``text`` with every span covered by a secret value replaced by one ``***``."""
        if self._regex is None or not text:
            return text
        spans: list[list[int]] = []
        for match in self._regex.finditer(text):
            start, end = match.start(), match.start() + len(match.group(1))
            if spans and start <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], end)
            else:
                spans.append([start, end])
        if not spans:
            return text
        out, last = [], 0
        for start, end in spans:
            out.append(text[last:start])
            out.append(MASK)
            last = end
        out.append(text[last:])
        return "".join(out)

    def redact(self, value: T) -> T:
        """A copy of ``value`` with secrets masked in every string, at any depth.

        Dict keys are masked too. Objects of other types (paths, exceptions...) are turned into
        their ``str`` only when that text holds a secret, which is also how they would be logged.
        """
        if self._regex is None:
            return value
        return self._redact(value)  # type: ignore[return-value]

    def _redact(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, _PLAIN):
            return value
        if isinstance(value, dict):
            return {self._redact(k): self._redact(v) for k, v in value.items()}
        if isinstance(value, (list, tuple, set, frozenset)):
            items = [self._redact(v) for v in value]
            return items if isinstance(value, list) else tuple(items)
        text = str(value)
        redacted = self.redact_text(text)
        return value if redacted == text else redacted

    def redact_exception(self, exc: BaseException) -> str:
        """``"<Type>: <message>"`` of ``exc`` with secrets masked: the text to show a user."""
        return self.redact_text(f"{type(exc).__name__}: {exc}")


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in a record's message, arguments and exception.

    The message is formatted first and the arguments dropped, so a secret passed as a ``%s``
    argument is masked too. Exception arguments are masked in place (along the cause/context
    chain) so handlers still render a real traceback; should the rendered traceback still hold
    a secret (an ``OSError``'s filename, a custom ``__str__``), it is replaced by masked text.
    """

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.redactor.active:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: the handler reports it, we leave it alone
            return True
        record.msg, record.args = self.redactor.redact_text(message), None
        if record.exc_info and record.exc_info[1] is not None:
            self._redact_exception(record.exc_info[1], set())
            text = logging.Formatter().formatException(record.exc_info)
            masked = self.redactor.redact_text(text)
            if masked != text:
                record.exc_info, record.exc_text = None, masked
        if record.stack_info:
            record.stack_info = self.redactor.redact_text(record.stack_info)
        return True

    def _redact_exception(self, exc: BaseException, seen: set[int]) -> None:
        if id(exc) in seen:
            return
        seen.add(id(exc))
        with contextlib.suppress(AttributeError, TypeError):  # some extension types are read-only
            exc.args = tuple(self.redactor.redact(arg) for arg in exc.args)
        for linked in (exc.__cause__, exc.__context__):
            if linked is not None:
                self._redact_exception(linked, seen)


@contextlib.contextmanager
def redact_logs(redactor: Redactor, logger: logging.Logger | None = None) -> Iterator[RedactingFilter]:
    """Mask secrets in every record that the handlers of ``logger`` (default: root) emit.

    A filter on a handler sees every record that reaches it, including the records of library
    loggers propagating up; a filter on a logger would see only that logger's own records.
    """
    target = logger or logging.getLogger()
    log_filter = RedactingFilter(redactor)
    handlers = list(target.handlers)
    for handler in handlers:
        handler.addFilter(log_filter)
    try:
        yield log_filter
    finally:
        for handler in handlers:
            handler.removeFilter(log_filter)
