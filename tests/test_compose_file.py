"""docker-compose.yaml, Dockerfile and .dockerignore, checked without a Docker engine.

What runs the containers is checked here statically (and by Debian's ``docker-compose config``
where it is installed); that the same Airflow settings and the same init script really work is
shown by tests/e2e/, which runs them as local processes.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.stack import (
    API_SERVICE,
    CELERY_ONLY,
    COMMON,
    INIT_SERVICE,
    NATIVE_ONLY,
    PLACES,
    Layout,
    Ports,
    interpolate,
    load_compose,
    localize,
    service_command,
    service_environment,
)

REPO = Path(__file__).resolve().parents[1]
COMPOSE = load_compose()
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
COMMON_BLOCK = COMPOSE[COMMON]
AIRFLOW_SERVICES = sorted(name for name, s in SERVICES.items() if s.get("image") == COMMON_BLOCK["image"])
DEFAULTS: dict[str, str] = {}
"""No variable set: every ${VAR:-default} takes its default, as on a machine without a .env file."""
LAKEHOUSE_RUNNER = REPO / "example_configs" / "lakehouse" / "runner.yaml"


def pinned_versions() -> dict[str, str]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pins[name.strip().lower()] = version.strip()
    return pins


def environment(service: str) -> dict[str, str]:
    return service_environment(COMPOSE, service, DEFAULTS)


def split_image(image: str) -> tuple[str, str | None]:
    """``registry/name:tag`` -> (``registry/name``, ``tag``); no tag -> None."""
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:
        return image, None
    return name, tag


def volume_mounts(service: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(source, target, mode) of each short-syntax volume, interpolated."""
    mounts = []
    for volume in service.get("volumes", []):
        parts = interpolate(volume, DEFAULTS).split(":")
        mounts.append((parts[0], parts[1], parts[2] if len(parts) > 2 else "rw"))
    return mounts


def test_the_compose_file_has_the_stack_of_the_official_one() -> None:
    default = {name for name, s in SERVICES.items() if not s.get("profiles")}
    assert default == {
        "postgres",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
        "airflow-init",
    }
    profiles = {name: s["profiles"] for name, s in SERVICES.items() if s.get("profiles")}
    assert profiles == {
        "redis": ["celery"],
        "airflow-worker": ["celery"],
        "minio": ["lakehouse"],
        "minio-setup": ["lakehouse"],
        "nessie-db": ["lakehouse"],
        "nessie": ["lakehouse"],
    }
    commands = {name: SERVICES[name].get("command") for name in AIRFLOW_SERVICES if name != INIT_SERVICE}
    assert commands == {
        "airflow-apiserver": "api-server",
        "airflow-scheduler": "scheduler",
        "airflow-dag-processor": "dag-processor",
        "airflow-triggerer": "triggerer",
        "airflow-worker": "celery worker",
    }


def test_every_image_is_pinned_to_an_explicit_version() -> None:
    images = {name: interpolate(s["image"], DEFAULTS) for name, s in SERVICES.items()}
    dockerfile_bases = re.findall(r"^FROM\s+(\S+)", (REPO / "Dockerfile").read_text(), re.MULTILINE)
    assert dockerfile_bases
    for where, image in [*images.items(), *(("Dockerfile", base) for base in dockerfile_bases)]:
        _, tag = split_image(image)
        assert tag, f"{where}: image {image} has no tag"
        assert "latest" not in tag.lower(), f"{where}: {image}"
        assert re.search(r"\d", tag), f"{where}: {image} is not pinned to a version"


def test_the_airflow_image_is_this_package_on_the_pinned_airflow() -> None:
    airflow = pinned_versions()["apache-airflow"]
    version = re.search(r'^version = "([^"]+)"', (REPO / "pyproject.toml").read_text(), re.MULTILINE)[1]
    assert COMMON_BLOCK["image"] == f"airflow-provider-dativo:{version}-airflow{airflow}"
    assert COMMON_BLOCK["build"] == {"context": ".", "dockerfile": "Dockerfile"}
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(rf"^FROM apache/airflow:{re.escape(airflow)}-python3\.\d+$", dockerfile, re.MULTILINE)
    # the image's own packages (Airflow included) are pip constraints of the install
    install = next(line for line in dockerfile.splitlines() if "pip install" in line)
    assert "-c /tmp/image-pins.txt" in install
    assert "pip freeze | grep '==' > /tmp/image-pins.txt" in dockerfile
    assert f"airflow.__version__ == '{airflow}'" in dockerfile


def test_every_host_path_mounted_exists_in_the_repo() -> None:
    host_paths = []
    for name, service in SERVICES.items():
        for source, target, _ in volume_mounts(service):
            if source.startswith((".", "/")):
                host_paths.append((name, source, target))
            else:
                assert source in COMPOSE["volumes"], (
                    f"{name}: {source} is neither a host path nor a named volume"
                )
    assert host_paths, "the Airflow services mount dags/ and the configs"
    for name, source, target in host_paths:
        assert not source.startswith("/"), f"{name}: {source} is outside the repo"
        assert (REPO / source).exists(), f"{name}: {source} (mounted at {target}) does not exist"
    assert (REPO / COMMON_BLOCK["build"]["context"] / COMMON_BLOCK["build"]["dockerfile"]).is_file()


def test_dags_and_configs_are_read_only_and_the_warehouse_is_a_named_volume() -> None:
    env = environment(COMMON)
    for name in AIRFLOW_SERVICES:
        mounts = {target: (source, mode) for source, target, mode in volume_mounts(SERVICES[name])}
        assert mounts[env["AIRFLOW__CORE__DAGS_FOLDER"]] == ("./dags", "ro"), name
        assert mounts[env["DATIVO_APP_ROOT"]] == ("./example_configs", "ro"), name
        assert mounts[env["DATIVO_HOME"]] == ("dativo-data", "rw"), name
    runner = env["DATIVO_RUNNER_CONFIG"]
    assert runner.startswith(env["DATIVO_APP_ROOT"] + "/")
    assert (REPO / "example_configs" / runner.removeprefix(env["DATIVO_APP_ROOT"] + "/")).is_file()


def test_every_airflow_service_shares_one_config_and_execution_api_url() -> None:
    common = environment(COMMON)
    shared_mounts = volume_mounts(COMMON_BLOCK)
    for name in AIRFLOW_SERVICES:
        env = environment(name)
        differing = {k: (v, env.get(k)) for k, v in common.items() if env.get(k) != v}
        assert not differing, f"{name} differs from x-airflow-common: {differing}"
        assert set(env) - set(common) <= {"AIRFLOW_ADMIN_PASSWORD", "DUMB_INIT_SETSID"}, name
        assert volume_mounts(SERVICES[name]) == shared_mounts, name
    # the config file every service reads sits on the shared named volume
    config_volume = next(target for source, target, _ in shared_mounts if source == "airflow-config")
    assert common["AIRFLOW_CONFIG"].startswith(config_volume + "/")
    assert common["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"].startswith(config_volume + "/")
    # the execution API URL names the api-server service and its container port
    url = urlsplit(common["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert (url.hostname, url.path) == (API_SERVICE, "/execution/")
    assert SERVICES[API_SERVICE]["command"] == "api-server"
    container_ports = [interpolate(p, DEFAULTS).rsplit(":", 1)[1] for p in SERVICES[API_SERVICE]["ports"]]
    assert str(url.port) in container_ports


def test_local_executor_by_default_and_celery_workers_in_their_profile() -> None:
    common = environment(COMMON)
    assert common["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert interpolate(
        COMMON_BLOCK["environment"]["AIRFLOW__CORE__EXECUTOR"], {"AIRFLOW_EXECUTOR": "CeleryExecutor"}
    ) == ("CeleryExecutor")
    assert int(common["AIRFLOW__CORE__PARALLELISM"]) >= 4
    broker = urlsplit(common["AIRFLOW__CELERY__BROKER_URL"])
    assert broker.scheme == "redis" and "celery" in SERVICES[broker.hostname]["profiles"]
    assert urlsplit(common["AIRFLOW__CELERY__RESULT_BACKEND"]).hostname == "postgres"
    assert urlsplit(common["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).hostname == "postgres"
    worker = SERVICES["airflow-worker"]
    assert worker["depends_on"]["redis"] == {"condition": "service_healthy"}


def test_the_init_service_writes_the_shared_config_migrates_and_creates_the_pools() -> None:
    init = SERVICES[INIT_SERVICE]
    assert init["entrypoint"] == "/bin/bash"
    assert init["user"] == "0:0"  # to hand the named volumes to AIRFLOW_UID
    script = service_command(COMPOSE, INIT_SERVICE, DEFAULTS)[-1]
    steps = [
        'if [ ! -s "${AIRFLOW_CONFIG}" ]',
        "fernet_key = ",
        "jwt_secret = ",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE",
        "airflow db migrate",
        'airflow dativo sync-pools "${DATIVO_RUNNER_CONFIG}"',
        'chown -R "50000:0"',
    ]
    positions = [script.find(step) for step in steps]
    assert -1 not in positions, dict(zip(steps, positions, strict=True))
    assert positions == sorted(positions), "config, then migration, then pools, then ownership"
    bash = subprocess.run(["bash", "-n", "-c", script], capture_output=True, text=True)
    assert bash.returncode == 0, bash.stderr
    for name in AIRFLOW_SERVICES:
        if name != INIT_SERVICE:
            assert SERVICES[name]["depends_on"][INIT_SERVICE] == {
                "condition": "service_completed_successfully"
            }, name


def test_the_native_stack_runs_the_compose_settings() -> None:
    """tests/e2e and scripts/stack.sh take every Airflow setting from the compose file except
    the ones that name a container path, host or port."""
    common = environment(COMMON)
    native = localize(
        common,
        layout=Layout(Path("/tmp/stack")),
        ports=Ports(8080, 8974, 8793, 8794),
        dsn="postgresql://u:p@127.0.0.1:5432/airflow",
        runner_config=Path("/tmp/runner.yaml"),
        app_root=Path("/tmp/app"),
    )
    assert set(common) >= PLACES
    same = {key for key in common if key not in PLACES | CELERY_ONLY}
    assert {key: native[key] for key in same} == {key: common[key] for key in same}
    assert set(native) - set(common) == NATIVE_ONLY
    assert native["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    # same driver, same dialect, local server
    assert native["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == "postgresql+psycopg2://u:p@127.0.0.1:5432/airflow"
    assert native["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8080/execution/"


def test_compose_interpolation_follows_compose_rules() -> None:
    assert interpolate("${A:-x}/${B-y}/${C}/$$HOME/$A", {"A": "", "B": ""}) == "x///$HOME/"
    assert interpolate("${A:-x}-${A-y}", {"A": "set"}) == "set-set"
    assert shlex.split(interpolate("echo $${X}", {})) == ["echo", "${X}"]


def test_the_lakehouse_jobs_point_at_the_profile_services() -> None:
    from airflow_provider_dativo.plan.runner import load_runner

    plan = load_runner(LAKEHOUSE_RUNNER)
    assert not plan.problems and not plan.failures
    assert len(plan.specs) == 2
    nessie_port = SERVICES["nessie"]["ports"][0].rsplit(":", 1)[1]
    minio = urlsplit(environment("nessie")["nessie.catalog.service.s3.default-options.endpoint"])
    bucket = urlsplit(environment("nessie")["nessie.catalog.warehouses.lakehouse.location"]).hostname
    assert f"lake/{bucket}" in service_command(COMPOSE, "minio-setup")[-1]
    common = environment(COMMON)
    for spec in plan.specs:
        catalog = spec.job.config.target.catalog.model_dump()
        name = catalog["name"]
        uri = urlsplit(catalog["uri"])
        assert (catalog["type"], uri.hostname, str(uri.port), uri.path) == (
            "rest",
            "nessie",
            nessie_port,
            "/iceberg",
        )
        endpoint = urlsplit(catalog["s3.endpoint"])
        assert (endpoint.hostname, endpoint.port) == (minio.hostname, minio.port)
        # the S3 keys reach pyiceberg through the environment of every Airflow service
        for key in ("S3__ACCESS_KEY_ID", "S3__SECRET_ACCESS_KEY"):
            assert f"PYICEBERG_CATALOG__{name.upper()}__{key}" in common
    assert (
        common["PYICEBERG_CATALOG__LAKEHOUSE__S3__ACCESS_KEY_ID"] == environment("minio")["MINIO_ROOT_USER"]
    )
    assert (
        common["PYICEBERG_CATALOG__LAKEHOUSE__S3__SECRET_ACCESS_KEY"]
        == environment("minio")["MINIO_ROOT_PASSWORD"]
    )
    result = subprocess.run(
        [sys.executable, "-m", "airflow_provider_dativo.cli.main", "validate", str(LAKEHOUSE_RUNNER)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins, ``!`` re-includes."""
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        glob = pattern[1:] if negate else pattern
        glob = glob.rstrip("/").removeprefix("**/")
        if (
            fnmatch.fnmatch(path, glob)
            or fnmatch.fnmatch(path.split("/")[-1], glob)
            or path.startswith(glob + "/")
        ):
            ignored = not negate
    return ignored


def test_dockerignore_sends_only_what_the_dockerfile_copies() -> None:
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    copied = []
    for line in (REPO / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY"):
            words = [w for w in line.split()[1:] if not w.startswith("--")]
            copied += words[:-1]
    assert copied
    for source in copied:
        assert (REPO / source).exists(), source
        assert not _ignored(source, patterns), f"{source} is copied but excluded by .dockerignore"
    assert not _ignored("airflow_provider_dativo/operators/ingest.py", patterns)
    for kept_out in (".venv", ".git", ".airflow", ".dativo", "tests", "example_configs", "docs"):
        assert _ignored(kept_out, patterns), kept_out


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="Debian's docker-compose is not installed")
@pytest.mark.parametrize("profiles", [[], ["celery"], ["lakehouse"], ["celery", "lakehouse"]])
def test_docker_compose_config_accepts_the_file(profiles: list[str]) -> None:
    arguments = [arg for profile in profiles for arg in ("--profile", profile)]
    result = subprocess.run(
        ["docker-compose", "-f", str(REPO / "docker-compose.yaml"), *arguments, "config", "-q"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
