"""Staging in worker processes: one hostile file costs one rejected submission, never the run.

Parsing is done by native code (calamine through fastexcel, Polars) that a crafted file can
make abort the process (a 16 GB allocation), hold gigabytes or run for minutes. So every
submission is staged in a separate worker process with a memory limit (RLIMIT_DATA) and a
time limit (`COUNTYFLOW_STAGE_MEMORY_MB`, `COUNTYFLOW_STAGE_TIMEOUT_SECONDS`), and whatever
goes wrong there becomes a REJECTED submission with a common rule id:

- `reader_crashed`: the worker died (signal or exit code), or a Python exception escaped
  staging (its type is named, never its message: messages may quote the file);
- `too_large_when_expanded`: the worker ran out of its memory (a MemoryError, or a native
  allocation failure, which aborts the process after printing `memory allocation of … failed`);
- `timed_out`: the worker overran its time and was killed.

Workers are started lazily and kept warm (importing Polars, Pandera and fastexcel takes
seconds), one per concurrently staging task: the pool is per process, so the thread task
runner shares one pool among its threads and every Dask worker process keeps its own. A
dead, killed or out-of-memory worker is discarded; the next submission starts a fresh one.

Workers are plain `subprocess` children, not `multiprocessing` ones: Dask worker processes
are daemonic and may not have multiprocessing children, and a fresh interpreter inherits no
threads or locks from the flow process. Requests and replies are pickles over the child's
stdin and a private copy of its stdout; whatever the child prints goes to its stderr, which
the parent forwards and keeps the tail of (to recognise a native allocation failure).

Every reply carries the worker's peak resident set size so far (`VmHWM`), which the
staging task logs with the memory limit; a worker that died gives no reply and no figure.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import pickle
import re
import resource
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, Any

import polars as pl
from pydantic import SecretStr

from countyflow.ingest.model import SubmissionRef
from countyflow.pipeline import StagedSubmission
from countyflow.settings import Settings
from countyflow.staging import rejected_to_files

Lookups = Mapping[str, pl.DataFrame | None]
StageFunction = Callable[[SubmissionRef, Lookups, Settings], StagedSubmission]

DEFAULT_FUNCTION = "countyflow.staging:stage_to_files"
"""What a worker runs for a submission, as `module:name` (tests name a fake of their own)."""

STARTUP_TIMEOUT_SECONDS = 180.0
"""Start-up (imports) is not the file's fault, so it has its own generous bound."""

RECYCLE_AFTER = 200
"""Submissions a worker stages before it is replaced, so heap fragmentation cannot pile up."""

ALLOCATION_FAILURE = b"memory allocation of"
"""Rust's message before it aborts on a failed allocation (calamine, Polars)."""

_HEADER = struct.Struct(">Q")
_STDERR_TAIL_BYTES = 8192
_SECRET_ENV_PREFIXES = ("COUNTYFLOW_WAREHOUSE",)
_WARM_MODULES = (
    "countyflow.staging", "countyflow.ingest.read", "countyflow.ingest.validate",
    "countyflow.ingest.report", "countyflow.transform", "fastexcel", "pandera.polars",
)


@dataclass(frozen=True)
class StageFailure:
    """Why staging a submission failed in its worker: a COMMON_RULES id and a detail for the
    clerk report and the log (worker facts only: signal, exit code, exception type, limit)."""

    rule: str
    detail: str


class _WorkerGone(Exception):
    """The worker was dead before it took the request: not the file's doing, so try again."""


class WorkerStartError(RuntimeError):
    """A staging worker could not start (not the fault of any file: a broken install or a
    memory limit below what the imports need)."""


# --- child side ------------------------------------------------------------------------------


def _write_message(stream: IO[bytes], message: object) -> None:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


def _read_message(stream: IO[bytes]) -> Any:
    """The next message, or None at end of input (the parent went away)."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    payload = stream.read(size)
    if len(payload) < size:
        return None
    return pickle.loads(payload)  # from our own parent process only


def _set_memory_limit(memory_mb: int) -> None:
    """RLIMIT_DATA, not RLIMIT_AS: the address-space limit counts reserved but unused
    mappings (glibc reserves 64 MB per thread arena, Polars' and calamine's thread pools
    reserve stacks and heaps), so it fails healthy workers on a many-core machine; the data
    limit counts only writable private memory (heap and anonymous mmap), what a file
    actually makes the reader allocate. Linux 4.7+ enforces it on mmap too."""
    if memory_mb > 0:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def peak_rss_kib() -> int:
    """This process's peak resident set size so far, in KiB: Linux's `VmHWM`.

    Not `ru_maxrss`: Linux carries the peak of the image a process replaced at exec into it,
    and a worker is spawned (vfork + exec) from the flow's process, so its `ru_maxrss` would
    report the flow process's peak. Where /proc is missing, `ru_maxrss` is all there is."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            found = re.search(r"^VmHWM:\s+(\d+) kB", status.read(), re.MULTILINE)
    except OSError:
        found = None
    return int(found[1]) if found else int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _exception_name(exc: BaseException) -> str:
    kind = type(exc)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def _resolve(function: str) -> StageFunction:
    module, _, name = function.partition(":")
    return getattr(importlib.import_module(module), name)


def serve(memory_mb: int) -> None:
    """The worker's loop: stage one request at a time until the parent closes stdin."""
    # Ctrl-C in a terminal reaches the whole process group; the parent decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    replies = os.fdopen(os.dup(1), "wb")  # the protocol's own copy of stdout
    os.dup2(2, 1)  # anything a library prints goes to stderr, never into the protocol
    requests = sys.stdin.buffer
    _set_memory_limit(memory_mb)
    for module in _WARM_MODULES:  # the slow imports, once, before the first file
        importlib.import_module(module)
    _write_message(replies, ("ready", os.getpid()))
    while (request := _read_message(requests)) is not None:
        function, ref, lookups, settings = request
        exit_after = False
        try:
            reply: tuple[str, object] = ("ok", _resolve(function)(ref, lookups, settings))
        except MemoryError:
            reply, exit_after = ("too_large", "MemoryError"), True  # the heap may be unusable now
        except BaseException as exc:  # a Rust panic is a BaseException too
            reply = ("crashed", _exception_name(exc))
        try:
            _write_message(replies, (*reply, peak_rss_kib()))
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            _write_message(replies, ("crashed", f"unpicklable result ({_exception_name(exc)})", peak_rss_kib()))
        if exit_after:
            break


# --- parent side -------------------------------------------------------------------------------


def _child_environment() -> dict[str, str]:
    """The parent's environment without warehouse secrets (a worker never connects), and the
    parent's import path, so the worker imports the same code (and tests' fake stagers)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(_SECRET_ENV_PREFIXES)}
    env["PYTHONPATH"] = os.pathsep.join(path for path in sys.path if path)
    return env


def worker_settings(settings: Settings) -> Settings:
    """The settings a worker needs: everything but the warehouse's URL and password."""
    return settings.model_copy(update={
        "warehouse_url": SecretStr(""), "warehouse_password": None, "warehouse_password_block": None,
    })


def _describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


class StagingWorker:
    """One warm worker process; used by one thread at a time (the pool sees to that)."""

    def __init__(self, memory_mb: int) -> None:
        self.memory_mb = memory_mb
        self.staged = 0
        self.peak_rss_kib: int | None = None
        """The worker's peak RSS as of its last reply; None until it replied to a request."""
        self._ready = False
        self._stderr_tail: deque[bytes] = deque()
        self._stderr_size = 0
        self._tail_lock = threading.Lock()
        command = [sys.executable, "-c", f"from countyflow.isolation import serve; serve({int(memory_mb)})"]
        self._process = subprocess.Popen(  # our own interpreter and module
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=_child_environment(), close_fds=True,
        )
        self._stderr_thread = threading.Thread(
            target=self._drain_stderr, name=f"staging-worker-{self._process.pid}-stderr", daemon=True,
        )
        self._stderr_thread.start()

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def _drain_stderr(self) -> None:
        """Forward the worker's stderr and keep its tail: it may say why the worker died."""
        stream = self._process.stderr
        assert stream is not None
        for line in iter(stream.readline, b""):
            with self._tail_lock:
                self._stderr_tail.append(line)
                self._stderr_size += len(line)
                while self._stderr_size > _STDERR_TAIL_BYTES and len(self._stderr_tail) > 1:
                    self._stderr_size -= len(self._stderr_tail.popleft())
            with contextlib.suppress(Exception):
                sys.stderr.write(line.decode("utf-8", "replace"))

    def _stderr_text(self) -> bytes:
        with self._tail_lock:
            return b"".join(self._stderr_tail)

    def _read_reply(self, timeout: float | None) -> tuple[Any, ...] | None:
        """The worker's next message; None if it closed its output (died) first.
        Raises TimeoutError when `timeout` seconds pass without a whole message."""
        stream = self._process.stdout
        assert stream is not None
        fd = stream.fileno()
        deadline = None if timeout is None else time.monotonic() + timeout

        def read_exact(size: int) -> bytes | None:
            chunks, missing = [], size
            while missing:
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0 or not select.select([fd], [], [], left)[0]:
                        raise TimeoutError
                chunk = os.read(fd, min(missing, 1 << 20))
                if not chunk:
                    return None
                chunks.append(chunk)
                missing -= len(chunk)
            return b"".join(chunks)

        header = read_exact(_HEADER.size)
        if header is None:
            return None
        payload = read_exact(_HEADER.unpack(header)[0])
        return None if payload is None else pickle.loads(payload)  # our own child

    def _wait_ready(self) -> None:
        if self._ready:
            return
        try:
            message = self._read_reply(STARTUP_TIMEOUT_SECONDS)
        except TimeoutError:
            message = None
        if message is None or message[0] != "ready":
            self.kill()
            tail = self._stderr_text().decode("utf-8", "replace")[-2000:]
            raise WorkerStartError(
                f"staging worker did not start ({_describe_exit(self._process.returncode)}, "
                f"memory limit {self.memory_mb} MiB); its last output:\n{tail}"
            )
        self._ready = True

    def _death(self) -> StageFailure:
        """Why the worker is gone, once it is."""
        returncode = self._process.wait()
        self._stderr_thread.join(timeout=5)  # its last words may still be in the pipe
        how = _describe_exit(returncode)
        if ALLOCATION_FAILURE in self._stderr_text():
            return StageFailure("too_large_when_expanded",
                                f"memory limit {self.memory_mb} MiB; a native allocation failed ({how})")
        if returncode == -signal.SIGKILL:  # not by us: the kernel's out-of-memory killer, most likely
            return StageFailure("too_large_when_expanded",
                                f"the staging worker was {how}, most likely for lack of memory")
        return StageFailure("reader_crashed", f"the staging worker died: {how}")

    def stage(self, function: str, ref: SubmissionRef, lookups: Lookups, settings: Settings,
              timeout: float | None) -> StagedSubmission | StageFailure:
        """Stage one submission in this worker; a StageFailure when it failed there (the
        worker is dead afterwards unless a Python exception was caught inside it)."""
        self._wait_ready()
        with self._tail_lock:
            self._stderr_tail.clear()
            self._stderr_size = 0
        stdin = self._process.stdin
        assert stdin is not None
        try:
            _write_message(stdin, (function, ref, lookups, worker_settings(settings)))
        except OSError as exc:  # BrokenPipeError: it died while idle
            raise _WorkerGone from exc
        self.staged += 1
        self.peak_rss_kib = None
        try:
            reply = self._read_reply(timeout)
        except TimeoutError:
            self.kill()
            return StageFailure("timed_out", f"staging took longer than {timeout:g} s and was stopped")
        if reply is None:
            return self._death()
        kind, value, self.peak_rss_kib = reply
        if kind == "ok":
            return value
        if kind == "too_large":
            self.kill()
            return StageFailure("too_large_when_expanded", f"memory limit {self.memory_mb} MiB ({value})")
        return StageFailure("reader_crashed", f"staging raised {value}")

    def kill(self) -> None:
        if self.alive:
            self._process.kill()
        self._process.wait()
        self._close_pipes()

    def close(self) -> None:
        """Ask an idle worker to finish (end of input), killing it if it does not."""
        if self.alive:
            with contextlib.suppress(OSError):
                assert self._process.stdin is not None
                self._process.stdin.close()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._close_pipes()

    def _close_pipes(self) -> None:
        for stream in (self._process.stdin, self._process.stdout):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()


class WorkerPool:
    """Warm workers of one process, lent to one staging task at a time.

    A task takes an idle worker with its memory limit (or starts one) and gives it back when
    done; so there are as many workers as submissions staged at once (the thread runner's
    threads), and at most `max_idle` stay warm between batches.
    """

    def __init__(self, max_idle: int | None = None) -> None:
        self.max_idle = max_idle or max(os.cpu_count() or 1, 1)
        self._idle: list[StagingWorker] = []
        self._lock = threading.Lock()

    def _acquire(self, memory_mb: int) -> StagingWorker:
        with self._lock:
            for worker in self._idle:
                if worker.memory_mb == memory_mb:
                    self._idle.remove(worker)
                    if worker.alive:
                        return worker
                    worker.kill()
                    break
        return StagingWorker(memory_mb)

    def _release(self, worker: StagingWorker) -> None:
        keep = worker.alive and worker.staged < RECYCLE_AFTER
        with self._lock:
            if keep and len(self._idle) < self.max_idle:
                self._idle.append(worker)
                return
        worker.close()

    def stage(self, function: str, ref: SubmissionRef, lookups: Lookups, settings: Settings, *,
              on_peak_rss: Callable[[int], None] | None = None) -> StagedSubmission | StageFailure:
        """Stage in a worker; `on_peak_rss` gets the worker's peak RSS (KiB) when it replied."""
        timeout = settings.stage_timeout_seconds or None
        for attempt in (1, 2):
            worker = self._acquire(settings.stage_memory_mb)
            try:
                outcome = worker.stage(function, ref, lookups, settings, timeout)
                if on_peak_rss is not None and worker.peak_rss_kib is not None:
                    on_peak_rss(worker.peak_rss_kib)
                return outcome
            except _WorkerGone:
                worker.kill()
                if attempt == 2:
                    raise WorkerStartError("staging workers die before taking a file") from None
            except BaseException:
                worker.kill()  # interrupted mid-request: its state is unknown
                raise
            finally:
                self._release(worker)
        raise AssertionError("unreachable")

    @property
    def idle_pids(self) -> list[int]:
        with self._lock:
            return [worker.pid for worker in self._idle]

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.close()


POOL = WorkerPool()
"""This process's workers (the flow process with the thread runner, or one Dask worker)."""
atexit.register(POOL.close)


def stage_isolated(ref: SubmissionRef, lookups: Lookups, settings: Settings, *,
                   function: str = DEFAULT_FUNCTION, pool: WorkerPool | None = None,
                   on_failure: Callable[[StageFailure], None] | None = None,
                   on_peak_rss: Callable[[int], None] | None = None) -> StagedSubmission:
    """Stage one submission in a worker process; any failure there is a rejected submission.
    `on_peak_rss` is told the worker's peak resident set size (KiB) whenever it replied.

    The worker reads the archive and writes the staged frames and clerk reports itself, so
    only the small StagedSubmission comes back. When staging failed, this process writes the
    rejection's issues and reports instead (rows_in 0: nothing was read).
    """
    if not settings.stage_in_worker:
        return _resolve(function)(ref, lookups, settings)
    outcome = (pool or POOL).stage(function, ref, lookups, settings, on_peak_rss=on_peak_rss)
    if isinstance(outcome, StageFailure):
        if on_failure is not None:
            on_failure(outcome)
        return rejected_to_files(ref, outcome.rule, outcome.detail, settings)
    return outcome
