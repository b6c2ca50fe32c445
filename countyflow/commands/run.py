"""`countyflow run`: process everything new in the landing zone, print a summary."""

from __future__ import annotations

import logging

from countyflow.commands.console import console, frame_table, submission_progress
from countyflow.pipeline import outcomes_frame, summarise_outcomes
from countyflow.settings import Settings

log = logging.getLogger(__name__)


def run_pipeline(settings: Settings) -> int:
    """Exit 0 when the run completed (even with rejected submissions), 1 when it failed."""
    from flows.ingest import ingest_landing_zone

    console.print(f"countyflow: landing [bold]{settings.landing}[/] → warehouse [bold]{settings.safe_warehouse_url()}[/]")
    try:
        with submission_progress():
            outcomes = ingest_landing_zone(settings)
    except Exception as exc:  # the pipeline itself failed: say what, never the secret URL
        console.print(f"[red]countyflow run failed:[/] {type(exc).__name__}: {_redact(str(exc), settings)}")
        return 1
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


def _redact(text: str, settings: Settings) -> str:
    """Exception text can echo the connection string: never print a password."""
    password = settings.warehouse_password
    url = settings.warehouse_url.get_secret_value()
    from sqlalchemy.engine import make_url

    secrets = [make_url(url).password, password.get_secret_value() if password else None]
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
