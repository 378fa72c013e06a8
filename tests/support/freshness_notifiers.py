"""Notifiers the freshness tests name in runner files."""

from __future__ import annotations

from typing import Any

RECEIVED: list[dict[str, Any]] = []


def remember(event: dict[str, Any]) -> None:
    RECEIVED.append(event)


async def remember_async(event: dict[str, Any]) -> None:
    RECEIVED.append({**event, "async": True})


NOT_CALLABLE = 42
