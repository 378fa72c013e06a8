"""Read the next record batch while the current one is checked and written.

Reading a file block (Arrow's CSV and JSON readers, Parquet decoding) and casting and checking
the previous one both run in Arrow's C++ code, which releases the GIL, so a reader thread one
batch ahead lets them overlap on a second core. At most ``depth`` batches wait, so memory stays
bounded. The standard library has thread pools but nothing that turns an iterator into a
bounded background producer, hence these few lines.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()
_POLL_SECONDS = 0.05


def read_ahead(items: Iterator[T], depth: int = 1) -> Iterator[T]:
    """``items``, produced by a thread up to ``depth`` ahead of the caller; an error raised
    while producing is raised to the caller at the point it happened. Stopping early (an
    error downstream, or the caller closing the iterator) stops the thread too."""
    waiting: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(item: object) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not hand_over((item, None)):
                    return
            hand_over((_DONE, None))
        except BaseException as exc:  # handed to the caller, raised there
            hand_over((None, exc))

    thread = threading.Thread(target=produce, name="dativo-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item, error = waiting.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        thread.join()
