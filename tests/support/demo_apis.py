"""The demo's Stripe and HubSpot: the loopback fakes, with sample data, for the native stack.

The example schedules ``stripe_customers_hourly`` and ``hubspot_contacts_daily`` need API
credentials a demo does not have, so a stack started from ``example_configs/`` would show a
failed run within a minute. :func:`prepare_demo_app` copies ``example_configs/`` into the
stack's folder, points the two connector recipes at these fakes (which speak the real APIs'
wire formats, ``tests/support/fake_stripe.py`` and ``fake_hubspot.py``) and writes their keys
into the demo tenant's secrets file, so every demo schedule runs green and loads real rows.

    python -m tests.support.demo_apis serve FOLDER   # serves until terminated; writes FOLDER/apis.json
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from tests.support.fake_hubspot import TOKEN, FakeHubspot, contact
from tests.support.fake_stripe import API_KEY, FakeStripe, customer

CUSTOMERS = 120
CONTACTS = 80
_T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
RECIPES = {"stripe": "stripe.yaml", "hubspot": "hubspot.yaml"}


def sample_apis() -> tuple[FakeStripe, FakeHubspot]:
    stripe = FakeStripe({"customers": [customer(i, _T0 + i * 3600) for i in range(1, CUSTOMERS + 1)]})
    hubspot = FakeHubspot({"contacts": [contact(i, (_T0 + i * 600) * 1000) for i in range(1, CONTACTS + 1)]})
    return stripe, hubspot


def serve(folder: Path) -> None:
    """Serve both fakes until SIGTERM; their base URLs go to ``folder/apis.json``."""
    stripe, hubspot = sample_apis()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with stripe, hubspot:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "apis.json"
        target.with_suffix(".tmp").write_text(
            json.dumps({"stripe": stripe.base_url, "hubspot": hubspot.base_url})
        )
        target.with_suffix(".tmp").replace(target)
        stop.wait()


def start(
    folder: Path, env: Mapping[str, str], log: Path, timeout: float = 30.0
) -> tuple[subprocess.Popen, dict]:
    """Start :func:`serve` as a process (``env`` carries the stack's marker, so stopping the stack
    stops it) and return it with the base URLs."""
    (folder / "apis.json").unlink(missing_ok=True)
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.demo_apis", "serve", str(folder)],
            env=dict(env),
            cwd=Path(__file__).resolve().parents[2],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while not (folder / "apis.json").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the demo APIs did not start; {log}:\n{log.read_text()[-2000:]}")
        time.sleep(0.1)
    return process, json.loads((folder / "apis.json").read_text())


def prepare_demo_app(source: Path, target: Path, urls: Mapping[str, str]) -> Path:
    """``source`` (example_configs/) copied to ``target`` with the recipes' ``base_url`` pointing at
    the fakes and the demo keys in ``secrets/acme/demo-apis.env``."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    for name, recipe in RECIPES.items():
        path = target / "connectors" / recipe
        text = re.sub(r"(?m)^(\s*base_url:\s*).*$", lambda m, u=urls[name]: m.group(1) + u, path.read_text())
        path.write_text(text)
    secrets = target / "secrets" / "acme"
    secrets.mkdir(parents=True, exist_ok=True)
    (secrets / "demo-apis.env").write_text(f"STRIPE_API_KEY={API_KEY}\nHUBSPOT_ACCESS_TOKEN={TOKEN}\n")
    return target


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "serve":
        print("usage: python -m tests.support.demo_apis serve FOLDER", file=sys.stderr)
        raise SystemExit(2)
    serve(Path(sys.argv[2]))
