"""The `countyflow` console script. Parses flags into Settings and delegates to `countyflow.commands`.

Imports of the command bodies are deferred so `countyflow --help` and `countyflow check`
stay fast (Prefect and Great Expectations are slow to import).
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError

from countyflow.settings import Settings

DEFAULT_PREFECT_STARTUP_SECONDS = 180

# Prefect's local server must not phone home: this machine class has no internet, and a
# statistics office's pipeline should not report usage anywhere.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
# A first run migrates a fresh Prefect database before the temporary server answers: on a
# busy 2-core machine that took longer than Prefect's default 20 s. Set it lower or higher
# in the environment; with PREFECT_API_URL set no temporary server is started at all.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS",
                      str(DEFAULT_PREFECT_STARTUP_SECONDS))
# Each `countyflow run` without PREFECT_API_URL starts its own temporary server on one
# Prefect home. Kept in memory (Prefect's default), a run's lease on the warehouse slot
# would be invisible to the next run's server, which could then not free the slot of a
# killed run; on disk in the Prefect home, every temporary server sees every lease.
os.environ.setdefault("PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE",
                      "prefect.server.concurrency.lease_storage.filesystem")

app = typer.Typer(
    name="countyflow",
    help="Zhaotong county submissions → validated warehouse and BI marts.",
    no_args_is_help=True,
    add_completion=False,
)

LandingOption = Annotated[
    str | None, typer.Option("--landing", help="Landing zone: local path or fsspec URL.")
]
WarehouseOption = Annotated[
    str | None,
    typer.Option("--warehouse", help="SQLAlchemy URL of the warehouse (default: embedded DuckDB)."),
]


def _settings(landing: str | None = None, warehouse: str | None = None) -> Settings:
    """Flags override environment (COUNTYFLOW_*), which overrides defaults."""
    overrides: dict[str, Any] = {}  # flag values as given: Settings validates and converts them
    if landing is not None:
        overrides["landing"] = landing
    if warehouse is not None:
        overrides["warehouse_url"] = warehouse
    try:
        return Settings(**overrides)
    except (ValidationError, SettingsError) as exc:  # the user's to fix: say which, exit 2
        # lazy: a command imports what it needs when it runs, so `countyflow --help` stays instant
        from countyflow.commands.console import console
        from countyflow.settings import describe_setting_errors

        for line in describe_setting_errors(exc):
            console.print(f"[red]countyflow: setting error:[/] {line}", highlight=False, markup=True)
        raise typer.Exit(2) from None


@app.command()
def check(
    file: Annotated[Path, typer.Argument(help="The file to validate.")],
    dataset: Annotated[str, typer.Option(help="Dataset name, e.g. childcare_sites.")],
    county: Annotated[str, typer.Option(help="County code, name or pinyin.")],
    period: Annotated[str, typer.Option(help="Period, e.g. 2025-summer.")],
    report: Annotated[
        Path | None, typer.Option(help="Also write the report (.json, .html or .xlsx) here.")
    ] = None,
) -> None:
    """Validate one file without touching the warehouse; exit 1 if it has errors."""
    # lazy: a command imports what it needs when it runs, so `countyflow --help` stays instant
    from countyflow.commands.check import check_file

    raise typer.Exit(check_file(file, dataset=dataset, county=county, period=period,
                                report_path=report, settings=_settings()))


@app.command()
def run(landing: LandingOption = None, warehouse: WarehouseOption = None) -> None:
    """Process everything new in the landing zone; exit 0 when the run completed."""
    # lazy: a command imports what it needs when it runs, so `countyflow --help` stays instant
    from countyflow.commands.run import run_pipeline

    raise typer.Exit(run_pipeline(_settings(landing, warehouse)))


@app.command()
def demo(
    landing: LandingOption = None,
    warehouse: WarehouseOption = None,
    scale: Annotated[
        int, typer.Option(min=1, help="Multiply the demo's volumes (rows per file) by N; deterministic.")
    ] = 1,
) -> None:
    """Write the demo landing zone, run the whole pipeline, print the city KPIs."""
    # lazy: a command imports what it needs when it runs, so `countyflow --help` stays instant
    from countyflow.commands.demo import run_demo

    raise typer.Exit(run_demo(_settings(landing, warehouse), scale=scale))


@app.command()
def status(
    warehouse: WarehouseOption = None,
    as_of: Annotated[
        datetime | None,
        typer.Option("--as-of", formats=["%Y-%m-%d"],
                     help="Judge due dates as of this day (default: today in Zhaotong)."),
    ] = None,
) -> None:
    """Print the completeness matrix (county × dataset × period), overdue and late partitions."""
    # lazy: a command imports what it needs when it runs, so `countyflow --help` stays instant
    from countyflow.commands.status import show_status

    raise typer.Exit(show_status(_settings(warehouse=warehouse), as_of=as_of.date() if as_of else None))


@app.command()
def grants(
    warehouse: WarehouseOption = None,
    apply: Annotated[
        bool, typer.Option("--apply/--print",
                           help="Apply to the warehouse, or print the SQL (default; no connection).")
    ] = False,
    login: Annotated[
        list[str] | None,
        typer.Option("--login", metavar="NAME=ROLE",
                     help="Also create LOGIN role NAME as a member of ROLE (repeatable), "
                          "e.g. superset=bi_reader, zhang_wei=county_530602. No password is set."),
    ] = None,
    role_prefix: Annotated[
        str, typer.Option(help="Prefix every role name (several warehouses in one cluster).")
    ] = "",
) -> None:
    """PostgreSQL roles, grants and row-level security: countyflow_loader, bi_reader, county_<code>."""
    # lazy: a command imports what it needs when it runs, so `countyflow --help` stays instant
    from countyflow.commands.grants import run_grants

    raise typer.Exit(run_grants(_settings(warehouse=warehouse), apply=apply, logins=login or (),
                                role_prefix=role_prefix))


@app.command()
def serve() -> None:
    """Register the Prefect deployments with their schedules and serve them."""
    # lazy: a command imports what it needs when it runs, so `countyflow --help` stays instant
    from countyflow.commands.serve import serve_deployments

    raise typer.Exit(serve_deployments(_settings()))


bi_app = typer.Typer(help="Hand the marts to BI tools.", no_args_is_help=True)
app.add_typer(bi_app, name="bi")


@bi_app.command("export")
def bi_export(
    superset: Annotated[Path, typer.Option(
        "--superset", help="Folder to write the Superset import bundle to (and its .zip).")],
) -> None:
    """Write a Superset import bundle: database placeholder, the marts as datasets, charts,
    a dashboard. Import it with `superset import-dashboards -p <DIR>/countyflow_superset.zip`."""
    # lazy: a command imports what it needs when it runs, so `countyflow --help` stays instant
    from countyflow.superset import write_bundle

    root, archive = write_bundle(superset)
    typer.echo(f"wrote {root} and {archive}")
    typer.echo("import: superset import-dashboards -p " + str(archive) + " -u admin; then set "
               "the password of database 'countyflow' (login as bi_reader) in Superset")


if __name__ == "__main__":
    app()
