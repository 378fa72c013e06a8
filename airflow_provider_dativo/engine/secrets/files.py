"""Read one secrets file (``*.env`` or ``*.json``) into a flat ``name -> value`` dict.

Errors name the file, the line and what is wrong, but never quote the file's content: a
malformed line is as likely to hold a secret as a well-formed one.

``.env``: ``NAME=VALUE`` lines; blank lines and ``#`` comments are skipped; an ``export``
prefix is allowed; values may be quoted: ``"..."`` understands ``\\n``, ``\\t``, ``\\r``,
``\\"`` and ``\\\\``, ``'...'`` is literal. An unquoted value ends at a ``#`` preceded by
whitespace (an inline comment); a ``#`` inside a value (``pa#ss``) is kept.

``.json``: one object. Nested objects are flattened with ``_`` (``{"pg": {"password": ...}}``
gives ``pg_password``), so every secret has a name a reference can use. Strings are taken
as they are; numbers, booleans and lists become their JSON text; ``null`` defines nothing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

SECRET_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
"""Names a secret may have: what ``${secret:NAME}`` can spell."""

SECRET_SUFFIXES = (".env", ".json")

_EXPORT = re.compile(r"^export\s+")
_INLINE_COMMENT = re.compile(r"\s+#.*$")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


class SecretFileError(ValueError):
    """A secrets file cannot be read; ``str()`` is ``<file>[:<line>]: <what is wrong>``."""

    def __init__(self, path: Path, message: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}")


def read_secret_file(path: Path) -> dict[str, str]:
    """The secrets defined in ``path``, by file type (``.env`` or ``.json``)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise SecretFileError(path, "is not UTF-8 text") from None
    except OSError as exc:
        raise SecretFileError(path, f"cannot be read: {exc.strerror or type(exc).__name__}") from None
    if path.suffix == ".json":
        return parse_json(text, path)
    return parse_env(text, path)


def parse_env(text: str, path: Path) -> dict[str, str]:
    """``NAME=VALUE`` lines; a name defined twice in one file keeps its last value, as in a shell."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = _EXPORT.sub("", line)
        name, sep, rest = line.partition("=")
        name = name.strip()
        if not sep:
            raise SecretFileError(path, "expected NAME=VALUE", number)
        if not SECRET_NAME.match(name):
            raise SecretFileError(path, "the name must be letters, digits, '_', '.' or '-'", number)
        values[name] = _env_value(rest.strip(), path, number)
    return values


def _env_value(text: str, path: Path, number: int) -> str:
    if not text or text[0] not in "\"'":
        return _INLINE_COMMENT.sub("", text)
    quote = text[0]
    out: list[str] = []
    i = 1
    while i < len(text):
        char = text[i]
        if quote == '"' and char == "\\" and i + 1 < len(text):
            out.append(_ESCAPES.get(text[i + 1], "\\" + text[i + 1]))
            i += 2
            continue
        if char == quote:
            trailing = text[i + 1 :].strip()
            if trailing and not trailing.startswith("#"):
                raise SecretFileError(path, "unexpected text after the closing quote", number)
            return "".join(out)
        out.append(char)
        i += 1
    raise SecretFileError(path, f"the value's {quote} quote is not closed (values are single-line)", number)


def parse_json(text: str, path: Path) -> dict[str, str]:
    """A JSON object, flattened (see the module docstring)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:  # exc.msg says what was expected, never what was found
        raise SecretFileError(
            path, f"is not valid JSON: {exc.msg} (column {exc.colno})", exc.lineno
        ) from None
    if not isinstance(data, dict):
        raise SecretFileError(path, f"must hold a JSON object, not {type(data).__name__}")
    values: dict[str, str] = {}
    _flatten(data, "", values, path)
    return values


def _flatten(data: dict[str, Any], prefix: str, out: dict[str, str], path: Path) -> None:
    for key, value in data.items():
        name = f"{prefix}_{key}" if prefix else str(key)
        if isinstance(value, dict):
            _flatten(value, name, out, path)
            continue
        if value is None:
            continue
        if not SECRET_NAME.match(name):
            raise SecretFileError(path, f"key {name!r} must be letters, digits, '_', '.' or '-'")
        if name in out:
            raise SecretFileError(path, f"defines {name!r} twice (nested keys are joined with '_')")
        out[name] = value if isinstance(value, str) else json.dumps(value)
