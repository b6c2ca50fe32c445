"""`countyflow run`: process everything new in the landing zone, print a summary.

Exit codes: 0 the run completed (even with rejected submissions), 1 the pipeline failed,
75 (EX_TEMPFAIL) the DuckDB warehouse file stayed in use by another process for longer
than `COUNTYFLOW_WAREHOUSE_LOCK_TIMEOUT` seconds: nothing was done, try again later.
"""

from __future__ import annotations

import logging

from countyflow.commands.console import console, frame_table, submission_progress
from countyflow.commands.prefect_server import (
    PrefectServerDidNotStart,
    prefect_api_for_this_run,
    startup_timeout,
)
from countyflow.pipeline import outcomes_frame, summarise_outcomes
from countyflow.settings import Settings
from warehouse.engine import WarehouseBusyError, permanent_problem

log = logging.getLogger(__name__)

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_WAREHOUSE_BUSY = 75
_PREFECT_STARTUP_FAILED = "ephemeral Prefect API server"


def run_pipeline(settings: Settings) -> int:
    """Run the ingest flow; see the module docstring for the exit codes."""
    problem = warehouse_problem(settings)
    if problem is not None:  # retrying cannot fix it: say so now, not after minutes
        console.print(f"[red]countyflow run did not start:[/] {problem}")
        return EXIT_USAGE
    console.print(f"countyflow: landing [bold]{settings.landing}[/] → warehouse [bold]{settings.safe_warehouse_url()}[/]")
    problem = landing_problem(settings.landing)
    if problem is not None:  # a typo or an unmounted share is not a quiet day
        console.print(f"[red]countyflow run did not start:[/] {problem}")
        return EXIT_USAGE
    try:  # the DuckDB file is opened inside the flow, after its warehouse slot (prepare_warehouse)
        with prefect_api_for_this_run():
            # lazy: inside, so Prefect and the flow load while the temporary server starts
            from flows.ingest import ingest_flow_for

            with submission_progress():
                outcomes = ingest_flow_for(settings)(settings)  # the flow makes folders absolute
    except WarehouseBusyError as exc:
        console.print(f"[red]countyflow run did not start:[/] {_redact(str(exc), settings)}")
        return EXIT_WAREHOUSE_BUSY
    except Exception as exc:  # the pipeline itself failed: say what, never the secret URL
        console.print(f"[red]countyflow run failed:[/] {type(exc).__name__}: {_redact(str(exc), settings)}")
        if isinstance(exc, PrefectServerDidNotStart) or _PREFECT_STARTUP_FAILED in str(exc):
            console.print(
                "The temporary Prefect server did not start in time. Raise "
                "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS (now "
                f"{startup_timeout():g} s), or run "
                "`uv run prefect server start` in another terminal and set "
                "PREFECT_API_URL=http://127.0.0.1:4200/api.")
        return EXIT_FAILED
    frame = outcomes_frame(outcomes)
    if frame.height == 0:
        console.print("Nothing new in the landing zone.")
        return 0
    console.print(frame_table(summarise_outcomes(frame), "Submissions by status"))
    problems = frame.filter(~frame["status"].str.starts_with("accepted"))
    if problems.height:
        console.print(frame_table(
            problems.select("county_code", "dataset", "period", "file_name", "status", "errors", "report_path"),
            "Not loaded (see each clerk report)",
        ))
    return 0


def warehouse_problem(settings: Settings) -> str | None:
    """A warehouse URL that can never work (`warehouse.engine.permanent_problem`). The login
    is tried only when the password does not come from a Prefect Secret block (which
    needs the Prefect API, not up yet)."""
    if settings.warehouse_password_block and settings.warehouse_password is None:
        return permanent_problem(settings.warehouse_url.get_secret_value(), connect=False)
    try:
        url = settings.sqlalchemy_url()
    except Exception:  # a malformed URL: let the check name it
        url = settings.warehouse_url.get_secret_value()
    return permanent_problem(url, connect=True)


def landing_problem(landing: str) -> str | None:
    """Why the landing zone cannot be read (missing, not a folder, unreadable), or None.

    Checked before any work, so a mistyped path or an unmounted share fails at once
    instead of looking like a day with nothing new."""
    # lazy: fsspec only to check a landing zone given as a URL
    import fsspec

    try:
        filesystem, path = fsspec.core.url_to_fs(landing)
        if not filesystem.exists(path):
            return f"落地区不存在 the landing zone does not exist: {landing}"
        if not filesystem.isdir(path):
            return f"落地区不是文件夹 the landing zone is not a folder: {landing}"
        filesystem.ls(path, detail=False)
    except PermissionError:
        return f"落地区无法读取 the landing zone cannot be read (permission denied): {landing}"
    except Exception as exc:  # an fsspec backend's own error: name it, keep it one line
        return f"落地区无法访问 the landing zone cannot be reached: {landing} ({type(exc).__name__})"
    return None


def _redact(text: str, settings: Settings) -> str:
    """Exception text can echo the connection string: never print a password."""
    try:
        secret = settings.resolved_password()
    except Exception:  # e.g. the Secret block cannot be read: then none of it was printed
        secret = None
    return text.replace(secret, "***") if secret else text
