"""In-process progress hooks, so the CLI can draw a progress bar while a flow runs.

Listeners are plain callables registered by the caller (the CLI); the tasks only
announce. Nothing here is a Prefect parameter, so nothing leaks into the UI.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol


class ProgressListener(Protocol):
    def planned(self, submissions: int) -> None: ...
    def finished(self, description: str) -> None: ...


_listeners: list[ProgressListener] = []


@contextmanager
def listening(listener: ProgressListener) -> Iterator[None]:
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def _each(call: Callable[[ProgressListener], None]) -> None:
    for listener in list(_listeners):
        call(listener)


def planned(submissions: int) -> None:
    _each(lambda listener: listener.planned(submissions))


def finished(description: str) -> None:
    _each(lambda listener: listener.finished(description))
