"""Per-tenant secrets: where they are read from, who may read them, and how settings name them."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dativo.engine.events import EventEmitter
from airflow_provider_dativo.engine.secrets.refs import SecretRef
from airflow_provider_dativo.engine.secrets.setup import emit_secrets_loaded, prepare_secrets
from airflow_provider_dativo.engine.secrets.store import (
    SecretsError,
    TenantSecrets,
    load_secrets,
    resolve_job_secrets,
    resolve_secret_refs,
    secrets_root,
)
from tests.support.secret_files import write_job, write_secrets

ACME_KEY = "sk_live_acme_4242"
GLOBEX_KEY = "sk_live_globex_7777"


@pytest.fixture
def two_tenants(tmp_path: Path) -> Path:
    write_secrets(tmp_path, "acme", {"stripe.env": f"STRIPE_API_KEY={ACME_KEY}\n"})
    write_secrets(tmp_path, "globex", {"stripe.env": f"STRIPE_API_KEY={GLOBEX_KEY}\n"})
    return tmp_path


def catalog_ref(ref: Any) -> dict[str, Any]:
    return {"target": {"catalog": {"type": "sql", "credential": ref}}}


# --- where secrets are read from ----------------------------------------------------------


def test_secrets_folder_is_beside_jobs_and_can_be_overridden(tmp_path: Path, monkeypatch) -> None:
    job = write_job(tmp_path, {})
    monkeypatch.delenv("DATIVO_SECRETS_DIR", raising=False)
    assert secrets_root(job) == tmp_path / "secrets"
    monkeypatch.setenv("DATIVO_SECRETS_DIR", str(tmp_path / "vault"))
    assert secrets_root(job) == tmp_path / "vault"
    assert secrets_root(job, tmp_path / "explicit") == tmp_path / "explicit"


def test_env_override_is_used_to_load(tmp_path: Path, monkeypatch) -> None:
    job = write_job(tmp_path, {})
    elsewhere = tmp_path / "mounted"
    (elsewhere / "acme").mkdir(parents=True)
    (elsewhere / "acme" / "k.env").write_text("API_TOKEN=from-mounted-folder\n")
    monkeypatch.setenv("DATIVO_SECRETS_DIR", str(elsewhere))
    assert dict(load_secrets(job)) == {"API_TOKEN": "from-mounted-folder"}


def test_own_tenant_files_only(two_tenants: Path) -> None:
    write_secrets(two_tenants, "acme", {"db.json": '{"pg": {"password": "pg-pass-1"}}', "notes.txt": "X=1"})
    secrets = load_secrets(write_job(two_tenants, {}))
    assert dict(secrets) == {"STRIPE_API_KEY": ACME_KEY, "pg_password": "pg-pass-1"}
    assert GLOBEX_KEY not in secrets.values()
    assert secrets.sources == {"files": 2, "connections": 0}
    assert secrets.origin("pg_password") == f"file {two_tenants / 'secrets' / 'acme' / 'db.json'}"


def test_tenant_without_folder_has_no_secrets(tmp_path: Path) -> None:
    secrets = load_secrets(write_job(tmp_path, {}))
    assert len(secrets) == 0 and secrets.sources["files"] == 0


def test_conflicting_values_across_files_fail_without_values(tmp_path: Path) -> None:
    write_secrets(tmp_path, "acme", {"a.env": "K=first-value\n", "b.json": '{"K": "second-value"}'})
    with pytest.raises(SecretsError) as info:
        load_secrets(write_job(tmp_path, {}))
    assert "secret 'K' of tenant 'acme' has different values in" in str(info.value)
    assert "first-value" not in str(info.value) and "second-value" not in str(info.value)


def test_same_value_in_two_files_is_fine(tmp_path: Path) -> None:
    write_secrets(tmp_path, "acme", {"a.env": "K=same-value\n", "b.json": '{"K": "same-value"}'})
    assert dict(load_secrets(write_job(tmp_path, {}))) == {"K": "same-value"}


def test_broken_file_is_a_secrets_error_with_exit_code_2(tmp_path: Path) -> None:
    write_secrets(tmp_path, "acme", {"a.env": "OK=1\nsk_live_oops\n"})
    with pytest.raises(SecretsError) as info:
        load_secrets(write_job(tmp_path, {}))
    assert info.value.exit_code == 2 and info.value.error_type == "SecretsError"
    assert info.value.report().startswith("SecretsError: secrets file ")
    assert "a.env:2: expected NAME=VALUE" in str(info.value) and "sk_live" not in str(info.value)


def test_repr_and_str_show_names_only(two_tenants: Path) -> None:
    secrets = load_secrets(write_job(two_tenants, {}))
    for text in (repr(secrets), str(secrets), f"{secrets}", repr([secrets])):
        assert ACME_KEY not in text
        assert "STRIPE_API_KEY" in text


# --- tenant isolation ---------------------------------------------------------------------


def test_reading_another_tenants_secret_is_refused(two_tenants: Path) -> None:
    job = write_job(two_tenants, catalog_ref("${secret:globex/STRIPE_API_KEY}"))
    with pytest.raises(SecretsError) as info:
        load_secrets(job)
    message = str(info.value)
    assert "a job of tenant 'acme' may not read the secrets of tenant 'globex'" in message
    assert "(referenced at target.catalog.credential)" in message
    assert "isolation.allow_secrets_from" in message
    assert GLOBEX_KEY not in message and info.value.exit_code == 2


def test_mapping_reference_to_another_tenant_is_refused_too(two_tenants: Path) -> None:
    job = write_job(two_tenants, catalog_ref({"secret": "STRIPE_API_KEY", "tenant": "globex"}))
    with pytest.raises(SecretsError, match="may not read the secrets of tenant 'globex'"):
        load_secrets(job)


def test_allow_secrets_from_lets_a_job_read_the_listed_tenant(two_tenants: Path) -> None:
    job = write_job(
        two_tenants,
        {**catalog_ref("${secret:globex/STRIPE_API_KEY}"), "isolation": {"allow_secrets_from": ["globex"]}},
    )
    secrets = load_secrets(job)
    assert secrets["globex/STRIPE_API_KEY"] == GLOBEX_KEY
    assert secrets["STRIPE_API_KEY"] == ACME_KEY
    resolved = resolve_job_secrets(job, secrets)
    assert resolved.config.target.catalog_properties()["credential"] == GLOBEX_KEY


def test_allowing_one_tenant_does_not_open_another(two_tenants: Path) -> None:
    write_secrets(two_tenants, "initech", {"k.env": "STRIPE_API_KEY=sk_live_initech_1\n"})
    job = write_job(
        two_tenants,
        {**catalog_ref("${secret:initech/STRIPE_API_KEY}"), "isolation": {"allow_secrets_from": ["globex"]}},
    )
    with pytest.raises(SecretsError, match="tenant 'initech'"):
        load_secrets(job)


def test_lookup_refuses_tenants_outside_the_allowed_set(two_tenants: Path) -> None:
    secrets = load_secrets(write_job(two_tenants, {}))
    with pytest.raises(SecretsError, match="may not read the secrets of tenant 'globex'"):
        secrets.lookup(SecretRef("STRIPE_API_KEY", "globex"))


# --- references ---------------------------------------------------------------------------


def test_references_in_every_form(two_tenants: Path) -> None:
    secrets = load_secrets(write_job(two_tenants, {}))
    settings = {
        "uri": "postgresql://etl:${secret:STRIPE_API_KEY}@db/lake",
        "twice": "${secret:STRIPE_API_KEY}/${secret:acme/STRIPE_API_KEY}",
        "mapping": {"secret": "STRIPE_API_KEY"},
        "nested": [{"headers": {"Authorization": "Bearer ${secret:STRIPE_API_KEY}"}}, 3, None],
        "plain": {"secret": "literal", "other": 1},
        "untouched": "$HOME and {secret}",
    }
    assert resolve_secret_refs(settings, secrets) == {
        "uri": f"postgresql://etl:{ACME_KEY}@db/lake",
        "twice": f"{ACME_KEY}/{ACME_KEY}",
        "mapping": ACME_KEY,
        "nested": [{"headers": {"Authorization": f"Bearer {ACME_KEY}"}}, 3, None],
        "plain": {"secret": "literal", "other": 1},
        "untouched": "$HOME and {secret}",
    }
    assert settings["mapping"] == {"secret": "STRIPE_API_KEY"}  # the input is not changed


def test_missing_secret_names_secret_tenant_and_setting(two_tenants: Path) -> None:
    secrets = load_secrets(write_job(two_tenants, {}))
    with pytest.raises(SecretsError) as info:
        resolve_secret_refs({"api": {"key": "${secret:HUBSPOT_TOKEN}"}}, secrets, "source")
    message = str(info.value)
    assert "secret 'HUBSPOT_TOKEN' of tenant 'acme' is not defined (referenced at source.api.key)" in message
    assert str(two_tenants / "secrets" / "acme") in message
    assert ACME_KEY not in message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("${secret:}", "source.k: malformed secret reference: write ${secret:NAME}"),
        ("${secret: STRIPE_API_KEY}", "source.k: malformed secret reference"),
        ("x${secret:STRIPE_API_KEY", "source.k: malformed secret reference"),
        ("ok ${secret:STRIPE_API_KEY} bad ${secret:a b}", "source.k: malformed secret reference"),
        ({"secret": "a b"}, "source.k: 'secret' must name a secret"),
        ({"secret": "K", "tenant": "../x"}, "source.k: 'tenant' must be a tenant id"),
    ],
)
def test_malformed_references_are_errors(two_tenants: Path, value: Any, message: str) -> None:
    secrets = load_secrets(write_job(two_tenants, {}))
    with pytest.raises(SecretsError) as info:
        resolve_secret_refs({"k": value}, secrets, "source")
    assert message in str(info.value)


def test_resolve_job_secrets_fills_catalog_and_source_path(two_tenants: Path) -> None:
    job = write_job(
        two_tenants,
        {
            "source": {"path": "../../data/${secret:STRIPE_API_KEY}/orders.csv"},
            "target": {
                "catalog": {"name": "lake", "type": "sql", "uri": "sqlite:///${secret:STRIPE_API_KEY}.db"}
            },
        },
    )
    resolved = resolve_job_secrets(job, load_secrets(job))
    assert resolved.source_path == two_tenants / "data" / ACME_KEY / "orders.csv"
    assert resolved.config.source["path"] == f"../../data/{ACME_KEY}/orders.csv"
    assert resolved.config.target.catalog_properties() == {"type": "sql", "uri": f"sqlite:///{ACME_KEY}.db"}
    assert resolved.config.target.catalog_name == "lake"
    assert ACME_KEY not in job.config.model_dump_json() and ACME_KEY not in str(job.source_path)


def test_job_without_references_is_returned_as_is(two_tenants: Path) -> None:
    job = write_job(two_tenants, {})
    assert resolve_job_secrets(job, load_secrets(job)) is job


# --- the secrets_loaded event -------------------------------------------------------------


def emitter() -> tuple[EventEmitter, io.StringIO]:
    stream = io.StringIO()
    return EventEmitter(job_name="orders", tenant_id="acme", run_id="r1", stream=stream), stream


def test_prepare_secrets_emits_names_and_counts_never_values(two_tenants: Path) -> None:
    write_secrets(two_tenants, "acme", {"db.json": '{"pg": {"password": "pg-pass-1", "port": 5432}}'})
    job = write_job(two_tenants, {**catalog_ref("${secret:pg_password}"), "logging": {"redaction": True}})
    events, stream = emitter()
    resolved, _ = prepare_secrets(job, events)
    [line] = stream.getvalue().splitlines()
    event = json.loads(line)
    assert event["event_type"] == "secrets_loaded" and event["tenant_id"] == "acme"
    assert event["secret_names"] == ["STRIPE_API_KEY", "pg_password", "pg_port"]
    assert event["sources"] == {"files": 2, "connections": 0}
    assert event["redaction"] is True and event["not_masked"] == ["pg_port"]  # "5432" is too short
    assert ACME_KEY not in line and "pg-pass-1" not in line
    assert resolved.config.target.catalog_properties()["credential"] == "pg-pass-1"
    assert events.redact_text(f"x {ACME_KEY} y") == "x *** y"


def test_without_redaction_the_emitter_masks_nothing(two_tenants: Path) -> None:
    events, _ = emitter()
    prepare_secrets(write_job(two_tenants, {}), events)
    assert events.redact_text(ACME_KEY) == ACME_KEY


def test_no_secrets_read_no_event(tmp_path: Path) -> None:
    events, stream = emitter()
    assert emit_secrets_loaded(events, TenantSecrets("acme"), redaction=True) is None
    prepare_secrets(write_job(tmp_path, {}), events)
    assert stream.getvalue() == ""
