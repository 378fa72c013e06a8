"""The deployment the end-to-end tests run: ``tests/e2e/configs/`` copied to a temporary folder, plus data.

``configs/`` holds the runner, the jobs, the asset and two small files: the invalid input of
``umbrella_bad_input`` and the late delivery of ``initech_late_delivery`` (``late/``, copied to
``landing/`` by the test once the second try has failed). The three CSV files that acme and
globex load are generated here, big enough that each run lasts a few seconds, so that runs
that may overlap really would.
"""

from __future__ import annotations

import csv
import shutil
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

CONFIGS = Path(__file__).resolve().parents[1] / "e2e" / "configs"
STATUSES = ("pending", "paid", "shipped", "cancelled")
COLUMNS = ("order_id", "customer_email", "status", "amount", "ordered_at")
GENERATED = {
    # schedule: (CSV under data/, first order_id)
    "acme_orders": ("acme/orders.csv", 1_000_000),
    "acme_returns": ("acme/returns.csv", 2_000_000),
    "globex_orders": ("globex/orders.csv", 3_000_000),
}
GENERATED_ROWS = 200_000
LATE_DELIVERY = Path("late/initech/deliveries.csv")
LANDING = Path("landing/initech")

Row = tuple[int, str, str, Decimal, datetime]


def generated_rows(first_id: int, count: int = GENERATED_ROWS) -> list[Row]:
    """The records of a generated file, as the asset types them."""
    start = datetime(2026, 11, 2, tzinfo=timezone.utc)
    return [
        (
            first_id + i,
            f"customer{i}@example.com",
            STATUSES[i % len(STATUSES)],
            Decimal(i % 100_000) / 100,
            start + timedelta(seconds=i),
        )
        for i in range(count)
    ]


def csv_rows(path: Path) -> list[Row]:
    """The records of a CSV file of the ``orders`` asset, typed like :func:`generated_rows`."""
    with path.open(newline="") as handle:
        return [
            (
                int(r["order_id"]),
                r["customer_email"],
                r["status"],
                Decimal(r["amount"]),
                datetime.fromisoformat(r["ordered_at"].replace("Z", "+00:00")),
            )
            for r in csv.DictReader(handle)
        ]


def write_rows(path: Path, rows: list[Row]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(COLUMNS)
        for order_id, email, status, amount, ordered_at in rows:
            out.writerow(
                [order_id, email, status, f"{amount:.2f}", ordered_at.strftime("%Y-%m-%dT%H:%M:%SZ")]
            )


class Deployment:
    """The copy of ``configs/`` the stack runs, with its generated data."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.runner = root / "runner.yaml"

    def expected_rows(self, schedule: str) -> list[Row]:
        if schedule in GENERATED:
            return generated_rows(GENERATED[schedule][1])
        return csv_rows(self.root / LATE_DELIVERY)

    def deliver_late_file(self) -> Path:
        """What the upstream system does for initech, late: put its file into the landing folder."""
        target = self.root / LANDING / LATE_DELIVERY.name
        shutil.copyfile(self.root / LATE_DELIVERY, target)
        return target


def make_deployment(root: Path) -> Deployment:
    shutil.copytree(CONFIGS, root, dirs_exist_ok=True)
    (root / LANDING).mkdir(parents=True, exist_ok=True)
    for relative, first_id in GENERATED.values():
        write_rows(root / "data" / relative, generated_rows(first_id))
    return Deployment(root)
