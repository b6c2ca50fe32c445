"""Who holds a warehouse's slot (the Prefect global concurrency limit that keeps runs on one
warehouse from overlapping), and whether it is still alive. Pure: `tasks.concurrency`
names the limit and talks to Prefect.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# --- who holds a warehouse slot, and whether it is still alive ---------------------------------
#
# Prefect's own lease cannot free the slot of a killed run quickly: leases last at least 60 s,
# and a temporary (ephemeral) server never runs the service that revokes expired ones. So the
# holder publishes a record (a Prefect Variable named after the limit, visible in the UI) and
# beats it while it runs; a waiter that sees the holder's process gone (same host), or its
# beat stopped for `HOLDER_SILENT_AFTER_SECONDS` of the *waiter's* clock (no clock skew
# between hosts), frees the slot by the holder's lease id.

HOLDER_BEAT_SECONDS = 5.0
"""How often a live holder renews its record (and its Prefect lease)."""
HOLDER_SILENT_AFTER_SECONDS = 30.0
"""A holder whose record has not changed for this long, as the waiter sees it, is gone."""


@dataclass(frozen=True)
class SlotHolder:
    """What a run holding a warehouse slot says about itself (no secrets, no personal data)."""

    lease_id: str
    host: str
    pid: int
    since: str
    """When it took the slot (UTC, ISO 8601)."""
    beat: int = 0
    """Counts up on every renewal: a waiter needs only to see it change."""
    flow_run_id: str | None = None
    flow_run_name: str | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, value: object) -> SlotHolder | None:
        """The record, or None when the value is not one (another tool's variable)."""
        if not isinstance(value, dict):
            return None
        try:
            return cls(**{name: value[name] for name in cls.__dataclass_fields__ if name in value})
        except TypeError:
            return None

    def describe(self) -> str:
        run = f"flow run {self.flow_run_name or '?'} ({self.flow_run_id})" if self.flow_run_id else "a run"
        return f"{run} on host {self.host}, pid {self.pid}, since {self.since}"


@dataclass
class HolderWatch:
    """A waiter's view of the slot's holder over time: pure, fed the records it reads."""

    this_host: str
    pid_alive: Callable[[int], bool]
    silent_after: float = HOLDER_SILENT_AFTER_SECONDS
    _last: SlotHolder | None = field(default=None, init=False)
    _changed_at: float = field(default=0.0, init=False)
    _missing_since: float | None = field(default=None, init=False)

    def gone(self, holder: SlotHolder | None, now: float) -> str | None:
        """Why the holder is gone (its slot may be freed), or None while it may be alive.

        `now` is the waiter's monotonic clock. Without a record at all the slot is an
        orphan only after it stayed unrecorded for the silence period (a new holder writes
        its record right after it takes the slot)."""
        if holder is None:
            self._last = None
            if self._missing_since is None:
                self._missing_since = now
            elif now - self._missing_since >= self.silent_after:
                return f"no run has claimed the slot for {now - self._missing_since:.0f} s"
            return None
        self._missing_since = None
        if holder != self._last:
            self._last, self._changed_at = holder, now
        if holder.host == self.this_host and not self.pid_alive(holder.pid):
            return f"process {holder.pid} no longer exists on {holder.host}"
        if now - self._changed_at >= self.silent_after:
            return f"it has not renewed its claim for {now - self._changed_at:.0f} s"
        return None


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host (signal 0 probes, never kills)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """A killed process its parent has not yet reaped still answers signal 0 (Linux: its
    state in /proc is `Z`); it holds nothing any more."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2:].startswith("Z")
