"""`countyflow grants`: roles, grants and row-level security for a PostgreSQL warehouse.

The plan (`warehouse.access.AccessPlan`) is generated from the county reference data
(countyflow/reference/counties.csv) and the models. `--print` (the default) writes it as
one SQL script for a DBA to read or run, without connecting; `--apply` first brings the
warehouse to the current schema, then runs the plan in one transaction. Both are
idempotent. Passwords are never taken on the command line: give LOGIN roles theirs in
psql (`\\password NAME`) or through your usual secret tooling.
"""

from __future__ import annotations

from collections.abc import Sequence

from countyflow.commands.console import console
from countyflow.reference import counties
from countyflow.settings import Settings
from tasks.resources import warehouse_engine
from warehouse.access import AccessError, AccessPlan, apply_access, row_filters
from warehouse.backends import backend_of

EXIT_USAGE = 2


def parse_logins(values: Sequence[str]) -> dict[str, str]:
    """`NAME=ROLE` pairs → {NAME: ROLE}."""
    logins: dict[str, str] = {}
    for value in values:
        name, sep, role = value.partition("=")
        if not sep or not name or not role:
            raise ValueError(f"--login {value!r}: expected NAME=ROLE, e.g. superset=bi_reader")
        logins[name.strip()] = role.strip()
    return logins


def build_plan(*, logins: Sequence[str] = (), role_prefix: str = "") -> object:
    codes = tuple(sorted(counties()["county_code"].to_list()))
    return AccessPlan(codes, prefix=role_prefix, logins=parse_logins(logins))


def run_grants(settings: Settings, *, apply: bool, logins: Sequence[str] = (),
               role_prefix: str = "") -> int:
    """Print the plan's SQL, or apply it to the warehouse of `settings`."""
    try:
        plan = build_plan(logins=logins, role_prefix=role_prefix)
    except (AccessError, ValueError) as exc:
        console.print(f"[red]countyflow grants:[/] {exc}")
        return EXIT_USAGE
    assert isinstance(plan, AccessPlan)
    if not apply:
        print(plan.script(), end="")  # plain stdout: redirect it to a file for a DBA
        return 0

    engine = warehouse_engine(settings)
    if not backend_of(engine).roles:
        console.print("[red]countyflow grants:[/] roles and row-level security need PostgreSQL; "
                      "a DuckDB warehouse is protected by its file's permissions.")
        return EXIT_USAGE
    apply_access(engine, plan)
    console.print(f"Access control applied to [bold]{settings.safe_warehouse_url()}[/]:")
    console.print(f"  {plan.loader}: owns and writes the warehouse")
    console.print(f"  {plan.bi_reader}: reads the marts, all counties")
    console.print(f"  {len(plan.county_roles)} county roles (e.g. {next(iter(plan.county_roles.values()))}): "
                  "their own county's rows only")
    console.print(f"  row-level security on {len(row_filters())} tables")
    for login, role in sorted(plan.logins.items()):
        console.print(f"  login {login} → {role} (set its password yourself)")
    return 0
