"""The main flow: discover → stage (parse, validate, transform) → load → publish.

It only composes: every step is a task over a pure function, one task per submission.
Registries (childcare_sites) are loaded before the datasets checked against them.
"""

from __future__ import annotations

from prefect import flow, unmapped

from countyflow.pipeline import SubmissionOutcome, batches_in_dependency_order
from countyflow.settings import Settings
from tasks.discover import discover_submissions
from tasks.load import load_submission, prepare_warehouse, read_mart, select_pending_submissions
from tasks.publish import publish_run_summary
from tasks.stage import stage_submission


@flow(name="countyflow-ingest", log_prints=False)
def ingest_landing_zone(settings: Settings | None = None) -> list[SubmissionOutcome]:
    """Process everything new in the landing zone into the warehouse."""
    settings = settings or Settings()
    prepare_warehouse(settings)
    discovered = discover_submissions(settings)
    pending = select_pending_submissions(discovered, settings)

    outcomes: list[SubmissionOutcome] = []
    for batch in batches_in_dependency_order(pending):
        staged = stage_submission.map(batch, settings=unmapped(settings)).result()
        outcomes += [load_submission(submission, settings) for submission in staged]

    publish_run_summary(outcomes, read_mart("mart_city_kpi", settings))
    return outcomes
