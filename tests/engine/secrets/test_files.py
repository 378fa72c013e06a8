"""Secrets files: the .env and .json formats, and errors that never quote a file's content."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_dativo.engine.secrets.files import SecretFileError, read_secret_file


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_env_file_syntax(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "stripe.env",
        "# Stripe\n"
        "\n"
        "export STRIPE_API_KEY=sk_live_12345\n"
        'DOUBLE="a \\"quoted\\" line\\nnext"  # comment\n'
        "SINGLE='kept \\n as is'\n"
        "HASH=pa#ss   # an inline comment\n"
        "SPACED = spaced value \n"
        "EMPTY=\n"
        "TWICE=first\n"
        "TWICE=second\n",
    )
    assert read_secret_file(path) == {
        "STRIPE_API_KEY": "sk_live_12345",
        "DOUBLE": 'a "quoted" line\nnext',
        "SINGLE": "kept \\n as is",
        "HASH": "pa#ss",
        "SPACED": "spaced value",
        "EMPTY": "",
        "TWICE": "second",
    }


def test_dotfile_named_env_is_read(tmp_path: Path) -> None:
    assert read_secret_file(write(tmp_path, ".env", "A=1\n")) == {"A": "1"}


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("OK=1\nsk_live_leaked_value\n", 2, "expected NAME=VALUE"),
        ('OK=1\n\nA="sk_live_unclosed\n', 3, "quote is not closed"),
        ("A='sk_live_x' trailing\n", 1, "unexpected text after the closing quote"),
        ("bad name sk_live_in_key=1\n", 1, "the name must be"),
    ],
)
def test_env_errors_name_file_and_line_but_no_content(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = write(tmp_path, "bad.env", text)
    with pytest.raises(SecretFileError) as info:
        read_secret_file(path)
    assert str(info.value).startswith(f"{path}:{line}: ")
    assert message in str(info.value)
    assert "sk_live" not in str(info.value)
    assert info.value.line == line


def test_json_file_is_flattened(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "db.json",
        '{"pg": {"password": "pg-secret", "port": 5432, "ssl": {"mode": "require"}},'
        ' "enabled": true, "hosts": ["a", "b"], "unset": null, "TOKEN": "t-12345"}',
    )
    assert read_secret_file(path) == {
        "pg_password": "pg-secret",
        "pg_port": "5432",
        "pg_ssl_mode": "require",
        "enabled": "true",
        "hosts": '["a", "b"]',
        "TOKEN": "t-12345",
    }


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ('{"A": "sk_live_1",\n "B" "sk_live_2"}', "is not valid JSON: Expecting ':' delimiter", 2),
        ('["sk_live_1"]', "must hold a JSON object, not list", None),
        (
            '{"pg_password": "sk_live_1", "pg": {"password": "sk_live_2"}}',
            "defines 'pg_password' twice",
            None,
        ),
        ('{"has space": "sk_live_1"}', "key 'has space' must be letters", None),
    ],
)
def test_json_errors_never_quote_values(tmp_path: Path, text: str, message: str, line: int | None) -> None:
    path = write(tmp_path, "bad.json", text)
    with pytest.raises(SecretFileError) as info:
        read_secret_file(path)
    assert message in str(info.value)
    assert "sk_live" not in str(info.value)
    assert info.value.line == line


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin.env"
    path.write_bytes("A=caf\xe9\n".encode("latin-1"))
    with pytest.raises(SecretFileError, match="is not UTF-8 text"):
        read_secret_file(path)
