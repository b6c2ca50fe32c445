"""`countyflow serve`: register the deployments with their schedules and serve them.

Deployments carry no settings as parameters: each run reads `COUNTYFLOW_*` from the
environment of the serving process, so no secret ever reaches the Prefect API.
"""

from __future__ import annotations

from countyflow.commands.console import console
from countyflow.settings import Settings

INGEST_INTERVAL_SECONDS = 15 * 60


def build_deployments() -> list[object]:
    from flows.ingest import ingest_landing_zone

    return [
        ingest_landing_zone.to_deployment(
            name="ingest-every-15-minutes",
            interval=INGEST_INTERVAL_SECONDS,
            description="Process everything new in the landing zone.",
            tags=["countyflow", "ingest"],
        ),
    ]


def serve_deployments(settings: Settings) -> int:
    from prefect import serve

    console.print(f"Serving countyflow deployments for landing {settings.landing} "
                  f"→ {settings.safe_warehouse_url()}")
    serve(*build_deployments())
    return 0
