"""Mask secret values in text, events and log records before they leave the engine.

A job with ``logging.redaction: true`` hands every secret value it loaded to a
:class:`Redactor`; from then on the value is replaced by ``***`` wherever it appears, **in any
spelling**: as written, URL-encoded (``quote`` and ``quote_plus``, fully or partly, any hex
case), form-encoded, JSON- or ``repr``-escaped, base64 (standard and URL-safe, at any alignment
inside a longer base64 text) and, because a driver that mis-parses a connection string quotes
pieces of it, **any substring of at least** :data:`GRAM_LENGTH` **characters** of it.
Overlapping values are masked as one span, so no fragment of either survives.

A piece shorter than :data:`LONG_PIECE` is masked only where a driver could have cut it out:
it starts or ends at the start or end of the secret, or next to one of :data:`DELIMITERS`
inside it (``cd+ef gh@ij:kl`` of ``ab/cd+ef gh@ij:kl``). So a password
``not-the-right-password-123`` does not turn every "password authentication failed" into
"*** authentication failed".

How: a text is first *canonicalised* (``%XX``, ``\\uXXXX``, ``\\xXX`` and backslash escapes
decoded, ``+`` read as a space, non-ASCII characters as their UTF-8 bytes), remembering where
each canonical character came from. Every window of :data:`GRAM_LENGTH` characters of a secret's
canonical forms (as written, and decoded once) is kept in a set; a canonical position whose
window is in the set is covered, and the covered spans map back to the original text. One pass,
linear in the text, whatever the number of secrets. Hand-written: no library masks values in
every encoding at once.

What counts as the secret: a value shaped like a URI with credentials
(``scheme://user:password@host/...``) is masked whole in every spelling, and its *password* by
substring (the scheme and host are not secret, and ``postgresql`` must stay readable); a JSON
object (a key file) is masked whole, and each string in it whole.

Values shorter than :data:`MIN_MASKED_LENGTH` are not masked: masking ``"1"`` or ``"yes"``
would garble every log line while protecting nothing. The threshold is the default of
Airflow's ``[logging] min_length_masked_secret``, so a value is masked by both or by neither.
"""

from __future__ import annotations

import base64
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
GRAM_LENGTH = 6
"""Shortest piece of a secret that is masked where it appears on its own (see below)."""
LONG_PIECE = 12
"""A piece of a secret this long is masked wherever it appears."""
DELIMITERS = frozenset(" \t\n\r/@:?#&=;,\"'\\%[](){}<>|")
"""Characters at which a driver splits a connection string (and so starts or ends a piece of
a password it quotes)."""

T = TypeVar("T")
_PLAIN = (int, float, bool, type(None))
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}|\\x[0-9A-Fa-f]{2}|\\[\"\\/'nrtbf]|\+|[^\x00-\x7f]")
_BACKSLASH = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}
_URI_CREDENTIALS = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://(?P<userinfo>.+)@")


def _as_bytes(text: str) -> str:
    """``text`` as its UTF-8 bytes (one character each) with ``+`` read as a space."""
    if not text.isascii():
        text = text.encode("utf-8", "surrogatepass").decode("latin-1")
    return text.replace("+", " ")


def _decode(token: str) -> str:
    if token[0] == "%":
        return chr(int(token[1:], 16))
    if token.startswith(("\\u", "\\x")):
        return chr(int(token[2:], 16))
    if token[0] == "\\":
        return _BACKSLASH.get(token[1], token[1])
    return token  # "+" or a non-ASCII character: _as_bytes maps them


def canonical(text: str) -> tuple[str, list[int] | None, list[int] | None]:
    """``(canonical text, starts, ends)``: per canonical character, the span of the original text
    it came from; ``None`` when the text is its own canonical form (the common case)."""
    if text.isascii() and "%" not in text and "\\" not in text and "+" not in text:
        return text, None, None
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    last = 0
    for match in _ESCAPE.finditer(text):
        begin, end = match.span()
        out.append(text[last:begin])
        starts.extend(range(last, begin))
        ends.extend(range(last + 1, begin + 1))
        piece = _as_bytes(_decode(match.group()))
        out.append(piece)
        starts.extend([begin] * len(piece))
        ends.extend([end] * len(piece))
        last = end
    out.append(text[last:])
    starts.extend(range(last, len(text)))
    ends.extend(range(last + 1, len(text) + 1))
    return "".join(out), starts, ends


def _base64_cores(value: str) -> set[str]:
    """The parts of ``value``'s base64 text that do not depend on what surrounds it, at each of
    the three alignments it can have inside a longer base64 text (standard and URL-safe)."""
    data = value.encode("utf-8", "surrogatepass")
    cores = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data).decode()
        core = encoded[-(-8 * offset // 6) : (8 * (offset + len(data))) // 6]
        cores.update({core, core.replace("+", "-").replace("/", "_")})
    return cores


def _sensitive_parts(value: str) -> tuple[set[str], set[str]]:
    """``(whole, by_substring)``: the strings masked as a whole and those masked by any piece of
    :data:`GRAM_LENGTH` characters (see the module docstring)."""
    uri = _URI_CREDENTIALS.match(value)
    if uri:
        password = uri.group("userinfo").partition(":")[2] or uri.group("userinfo")
        return {value}, {password, urllib.parse.unquote(password)}
    if value.lstrip().startswith("{"):
        with contextlib.suppress(ValueError, RecursionError):
            data = json.loads(value)
            if isinstance(data, dict):
                return {value, *_json_strings(data)}, set()
    return {value}, {value}


def _json_strings(data: Any) -> Iterator[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for item in data.values():
            yield from _json_strings(item)
    elif isinstance(data, list):
        for item in data:
            yield from _json_strings(item)


def _base64_whole(value: str) -> set[str]:
    """``value`` base64-encoded on its own (standard and URL-safe, with padding)."""
    data = value.encode("utf-8", "surrogatepass")
    return {base64.b64encode(data).decode(), base64.urlsafe_b64encode(data).decode()}


def spellings(value: str) -> set[str]:
    """The exact forms a value takes in URIs, form bodies, JSON text, reprs and base64 (for
    maskers that match literal strings only, such as Airflow's)."""
    forms = {
        value,
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote(value),
        urllib.parse.quote_plus(value, safe=""),
        urllib.parse.quote_plus(value, safe="/"),
        # what HTTP clients make of a URL they normalise: only some characters quoted
        urllib.parse.quote(value, safe="/@:+"),
        urllib.parse.quote(value, safe="!#$%&'()*+,/:;=?@[]~"),
        urllib.parse.quote(value, safe="!$&'()*+,;=:@/"),
        value.replace(" ", "%20"),
        json.dumps(value, ensure_ascii=False)[1:-1],
        json.dumps(value)[1:-1],
        repr(value)[1:-1],
        *_base64_whole(value),
    }
    return forms | {form.rstrip("=") for form in forms} | _base64_cores(value)


def masker_spellings(value: str, min_length: int = MIN_MASKED_LENGTH) -> set[str]:
    """Every exact spelling of ``value`` and of its sensitive parts (a URI's password, a JSON
    key file's strings) that a literal-string masker should know, e.g. Airflow's, which cannot
    mask substrings."""
    whole, by_substring = _sensitive_parts(value)
    forms = {form for part in whole | by_substring for form in spellings(part)}
    return {form for form in forms if len(form) >= min_length}


class Redactor:
    """Replaces known secret values by ``***`` in strings and in nested dicts, lists and tuples.

    Values can be added at any time (secrets are loaded after a run has started), and every
    holder of the redactor sees them at once.
    """

    def __init__(self, values: Iterable[str] = (), *, min_length: int = MIN_MASKED_LENGTH) -> None:
        self.min_length = min_length
        self._values: set[str] = set()
        self._whole: set[str] = set()
        """Canonical forms matched only whole (shorter than a gram, or not secret piece by piece)."""
        self._whole_regex: re.Pattern[str] | None = None
        self._grams: set[str] = set()
        self._pieces_of: set[str] = set()
        """The canonical forms the grams come from (to tell where a piece was cut)."""
        self.add(values)

    def __repr__(self) -> str:  # never the values
        return f"Redactor({len(self._values)} values)"

    @property
    def active(self) -> bool:
        """Whether any value is masked at all (a redactor without values changes nothing)."""
        return bool(self._values)

    def masks(self, value: str) -> bool:
        """Whether ``value`` is long enough to be masked."""
        return len(value) >= self.min_length

    def add(self, values: Iterable[str]) -> None:
        """Mask ``values`` from now on; empty and too-short values are ignored."""
        whole_before = len(self._whole)
        for value in values:
            if not isinstance(value, str) or not self.masks(value) or value in self._values:
                continue
            self._values.add(value)
            whole, by_substring = _sensitive_parts(value)
            for text in by_substring | _base64_cores(value):  # base64 pieces look random: no clash
                self._add_grams(text)
            for text in whole | _base64_whole(value):
                self._add_whole(text)
        if len(self._whole) != whole_before:
            # Longest first: at each position the longest value wins. The lookahead finds
            # overlapping occurrences.
            ordered = sorted(self._whole, key=lambda p: (-len(p), p))
            self._whole_regex = re.compile("(?=(" + "|".join(re.escape(p) for p in ordered) + "))")

    def _forms(self, text: str) -> set[str]:
        """A value's canonical forms: as written, and decoded once (it may itself hold escapes)."""
        return {_as_bytes(text), canonical(text)[0]}

    def _add_grams(self, text: str) -> None:
        for form in self._forms(text):
            if len(form) < GRAM_LENGTH:
                if len(form) >= self.min_length:
                    self._whole.add(form)
                continue
            self._pieces_of.add(form)
            self._grams.update(
                gram
                for i in range(len(form) - GRAM_LENGTH + 1)
                if not (gram := form[i : i + GRAM_LENGTH]).isspace()
            )

    def _add_whole(self, text: str) -> None:
        self._whole.update(form for form in self._forms(text) if len(form) >= self.min_length)

    def redact_text(self, text: str) -> str:
        """``text`` with every span covered by a secret (in any spelling) replaced by one ``***``."""
        if not self._values or not text:
            return text
        canon, starts, ends = canonical(text)
        spans = self._canonical_spans(canon)
        if not spans:
            return text
        if starts is not None and ends is not None:
            spans = [(starts[begin], ends[end - 1]) for begin, end in spans]
        out, last = [], 0
        for begin, end in _merged(spans):
            out.append(text[last:begin])
            out.append(MASK)
            last = end
        out.append(text[last:])
        return "".join(out)

    def _canonical_spans(self, canon: str) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        if self._whole_regex is not None:
            spans.extend((m.start(), m.start() + len(m.group(1))) for m in self._whole_regex.finditer(canon))
        grams = self._grams
        if grams:
            size = GRAM_LENGTH
            pieces = _merged(
                [(i, i + size) for i in range(len(canon) - size + 1) if canon[i : i + size] in grams]
            )
            spans.extend(span for span in pieces if self._is_secret_piece(canon[span[0] : span[1]]))
        return _merged(spans)

    def _is_secret_piece(self, piece: str) -> bool:
        """Whether a run of secret windows found in a text is to be masked: it is long, holds a
        whole secret form, or could have been cut out of a secret by a driver (it starts or ends
        at an end of the secret or at a delimiter in it)."""
        if len(piece) >= LONG_PIECE:
            return True
        for form in self._pieces_of:
            if form in piece:
                return True
            at = form.find(piece)
            while at >= 0:
                end = at + len(piece)
                if at == 0 or end == len(form) or form[at - 1] in DELIMITERS or form[end] in DELIMITERS:
                    return True
                at = form.find(piece, at + 1)
        return False

    def redact(self, value: T) -> T:
        """A copy of ``value`` with secrets masked in every string, at any depth.

        Dict keys are masked too. Objects of other types (paths, exceptions...) are turned into
        their ``str`` only when that text holds a secret, which is also how they would be logged.
        """
        if not self._values:
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


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted spans with the overlapping and touching ones joined."""
    out: list[tuple[int, int]] = []
    for begin, end in sorted(spans):
        if out and begin <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((begin, end))
    return out


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
