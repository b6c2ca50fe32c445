"""`countyflow serve`: register the deployments with their schedules and serve them.

The deployments are built in `flows/deployments.py` (ingest every 15 minutes, the nightly
completeness check, the monthly heart-centre roll-up). They carry no settings as
parameters: each run reads `COUNTYFLOW_*` from the environment of the serving process,
so no secret ever reaches the Prefect API.
"""

from __future__ import annotations

from prefect import serve

from countyflow.commands.console import console
from countyflow.settings import Settings
from flows.deployments import build_deployments


def serve_deployments(settings: Settings) -> int:
    deployments = build_deployments()
    console.print(f"Serving countyflow deployments for landing {settings.landing} "
                  f"→ {settings.safe_warehouse_url()}:")
    for deployment in deployments:
        console.print(f"  • {deployment.flow_name}/{deployment.name}")
    serve(*deployments)
    return 0
