"""Path rules: relative to the file, /app/ re-rooted, a local checkout standing for /app/."""

from __future__ import annotations

from pathlib import Path

from airflow_provider_dativo.config.paths import infer_tenant, jobs_root, resolve_path


def test_relative_paths_follow_the_file(tmp_path: Path) -> None:
    assert resolve_path("../../data/x.csv", tmp_path / "jobs" / "acme", None) == tmp_path / "data" / "x.csv"


def test_app_paths_move_under_the_app_root_even_when_missing(tmp_path: Path) -> None:
    assert (
        resolve_path("/app/jobs/a.yaml", tmp_path, str(tmp_path / "root"))
        == tmp_path / "root" / "jobs" / "a.yaml"
    )


def test_without_app_root_the_nearest_folder_holding_the_rest_stands_for_app(tmp_path: Path) -> None:
    (tmp_path / "data" / "acme").mkdir(parents=True)
    base = tmp_path / "jobs" / "acme"
    base.mkdir(parents=True)
    assert resolve_path("/app/data/acme/*.csv", base, None) == tmp_path / "data" / "acme" / "*.csv"
    assert resolve_path("/app/nowhere/x.csv", base, None) == Path("/app/nowhere/x.csv")


def test_other_absolute_paths_stay(tmp_path: Path) -> None:
    assert resolve_path(str(tmp_path / "x"), Path("/elsewhere"), "/root") == tmp_path / "x"


def test_tenant_and_jobs_root_come_from_the_jobs_folder() -> None:
    path = Path("/srv/app/jobs/acme/orders.yaml")
    assert infer_tenant(path) == "acme" and jobs_root(path) == Path("/srv/app")
    assert infer_tenant(Path("/srv/app/jobs/orders.yaml")) is None


def test_a_folder_given_as_text_or_path_resolves_the_same(tmp_path: Path) -> None:
    base = tmp_path / "jobs" / "acme"
    for raw in ("../../data/x.csv", "./a/../b.csv", str(tmp_path / "abs.csv")):
        assert resolve_path(raw, str(base), None) == resolve_path(raw, base, None)
    assert resolve_path("~/x.csv", base, None) == Path.home() / "x.csv"


def test_an_app_path_is_looked_up_on_disk_at_every_call(tmp_path: Path) -> None:
    """Relative paths are memoized; ``/app/`` ones depend on what exists now, so they are not."""
    base = tmp_path / "jobs" / "acme"
    base.mkdir(parents=True)
    assert resolve_path("/app/later/x.csv", base, None) == Path("/app/later/x.csv")
    (tmp_path / "later").mkdir()
    (tmp_path / "later" / "x.csv").write_text("id\n1\n")
    assert resolve_path("/app/later/x.csv", base, None) == tmp_path / "later" / "x.csv"


def test_tenant_inference_takes_text_and_relative_paths() -> None:
    assert infer_tenant("/srv/app/jobs/acme/orders.yaml") == "acme"
    assert infer_tenant("jobs/acme/orders.yaml") == "acme"
    assert infer_tenant("orders.yaml") is None
    assert infer_tenant("/srv/jobs/acme/jobs/beta/orders.yaml") == "beta"  # the last jobs/ folder wins
    assert infer_tenant(Path("/srv/app/jobs/acme/sub/orders.yaml")) == "acme"  # the folder right below jobs/
