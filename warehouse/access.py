"""Access control on PostgreSQL: roles, grants and row-level security, generated from
the county reference data (`countyflow/reference/counties.csv`) and the models.

Roles (NOLOGIN: people and tools log in as their own LOGIN roles, made members of these;
`countyflow grants --login NAME=ROLE` creates such a member):

- `countyflow_loader` owns the warehouse (schemas, tables, sequences, views) and writes
  it; the pipeline connects as a member of it (or as the database owner/superuser);
- `bi_reader` may read the marts (schema `marts`) and nothing else, read-only by default
  (`default_transaction_read_only`);
- `county_<code>` (one per county) may read the marts, facts, dimensions and audit of
  its own county only, read-only by default.

Row-level security. Every table with a `county_code` (facts, the SCD2 dimensions, the
calendar, the ledger) and the ledger's issues ENABLE and FORCE row-level security with one
policy: a row is visible (and writable) when the reading session's role (`current_user`)
sees all counties (a member of `countyflow_loader` or `bi_reader`) or is a member of the
row's county role. The marts are ordinary views owned by `countyflow_loader`: they read
the tables with their owner's rights, so `bi_reader` needs no right on the tables; FORCE
makes the policies apply to that owner too, and because they test `current_user`, which a
view does not change, a county's role sees only its own rows through every mart (and the
city KPIs it sees are its county's). The owner must not be a superuser or have BYPASSRLS
(which skip every policy): that is why the warehouse is given to `countyflow_loader`.
(`CREATE VIEW … WITH (security_invoker = true)` would check the tables with the reader's
rights instead, and `bi_reader` would then need SELECT on the facts.)

Everything is idempotent: roles are created when missing (an existing role's LOGIN and
password are left alone), policies and functions are replaced, grants re-applied. Roles
belong to the cluster, so two databases secured at the same moment may both try to create
them: the one that loses applies its plan again (`apply_access`). Run it
again after an upgrade that adds tables or marts, and after changing counties.csv.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from warehouse.backends import backend_of
from warehouse.layout import AUDIT, DW, MARTS_SCHEMA, SCHEMAS, SEARCH_PATH
from warehouse.marts import VIEWS
from warehouse.migrate import VERSION_TABLE, default_schema
from warehouse.models import AuditSubmission, Base, DimCounty
from warehouse.schema import ensure_warehouse

_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_COUNTY_CODE = re.compile(r"^[0-9]{6}$")

POLICY = "countyflow_county_rows"
SEES_ALL = f"{AUDIT}.countyflow_sees_all_counties"
VISIBLE = f"{AUDIT}.countyflow_visible_counties"


class AccessError(ValueError):
    """The access plan cannot be built or applied as asked."""


def _role(name: str) -> str:
    if not _ROLE_NAME.match(name):
        raise AccessError(
            f"role name {name!r}: use lower-case letters, digits and _ (at most 63), "
            "starting with a letter or _"
        )
    return name


@dataclass(frozen=True)
class AccessPlan:
    """What `countyflow grants` creates. `prefix` namespaces every role (several
    warehouses in one cluster, tests); `logins` maps LOGIN role → the role it joins."""

    county_codes: tuple[str, ...]
    prefix: str = ""
    logins: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.prefix:
            _role(self.prefix)
        bad = [code for code in self.county_codes if not _COUNTY_CODE.match(code)]
        if bad or not self.county_codes:
            raise AccessError(f"county codes must be 6 digits, got {bad or 'none'}")
        for login, role in self.logins.items():
            _role(login)
            if role not in self.group_roles:
                raise AccessError(f"--login {login}={role}: {role} is not one of the roles "
                                  f"this plan creates ({', '.join(self.group_roles)})")
            if login in self.group_roles:
                raise AccessError(f"--login {login}: a login must not be one of the group roles")

    # ---------------------------------------------------------------------------- names

    @property
    def loader(self) -> str:
        return _role(f"{self.prefix}countyflow_loader")

    @property
    def bi_reader(self) -> str:
        return _role(f"{self.prefix}bi_reader")

    def county_role(self, code: str) -> str:
        return _role(f"{self.prefix}county_{code}")

    @property
    def county_roles(self) -> dict[str, str]:
        return {code: self.county_role(code) for code in self.county_codes}

    @property
    def group_roles(self) -> tuple[str, ...]:
        return (self.loader, self.bi_reader, *self.county_roles.values())

    # ------------------------------------------------------------------------ statements

    def statements(self) -> list[str]:
        """The whole plan as SQL statements, in order (what `--print` shows)."""
        readers = [self.bi_reader, *self.county_roles.values()]
        return [
            *self._roles(),
            *self._session_defaults(),
            *self._functions(),
            *self._ownership(),
            *self._privileges(readers),
            *self._row_level_security(),
            *self._logins(),
        ]

    def _roles(self) -> Iterable[str]:
        yield "-- roles: group roles without LOGIN, created when missing"
        purposes = {
            self.loader: "countyflow: owns and writes the warehouse",
            self.bi_reader: "countyflow: reads the BI marts (all counties), nothing else",
            **{role: f"countyflow: reads only the rows of county {code}"
               for code, role in self.county_roles.items()},
        }
        for role, purpose in purposes.items():
            yield _do(f"IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN "
                      f"CREATE ROLE {role} NOLOGIN; END IF;")
            yield f"COMMENT ON ROLE {role} IS '{purpose}'"

    def _session_defaults(self) -> Iterable[str]:
        yield "-- session defaults in this database (they apply to sessions of these roles)"
        for role, settings in self._role_settings().items():
            yield from _set_in_database(role, settings)

    def _role_settings(self) -> dict[str, dict[str, str]]:
        reader = {"default_transaction_read_only": "on"}
        return {
            self.loader: {"search_path": ", ".join(SEARCH_PATH)},
            self.bi_reader: {"search_path": MARTS_SCHEMA, **reader},
            **{role: {"search_path": f"{MARTS_SCHEMA}, {DW}, {AUDIT}", **reader}
               for role in self.county_roles.values()},
        }

    def _functions(self) -> Iterable[str]:
        yield "-- who sees which county's rows, decided on the session's role (current_user)"
        sees_all = " OR ".join(f"pg_has_role(current_user, '{role}', 'USAGE')"
                               for role in (self.loader, self.bi_reader))
        yield (f"CREATE OR REPLACE FUNCTION {SEES_ALL}() RETURNS boolean "
               "LANGUAGE sql STABLE SECURITY INVOKER SET search_path = pg_catalog "
               f"AS $$ SELECT {sees_all} $$")
        pairs = ", ".join(f"('{role}', '{code}')" for code, role in self.county_roles.items())
        yield (f"CREATE OR REPLACE FUNCTION {VISIBLE}() RETURNS SETOF text "
               "LANGUAGE sql STABLE SECURITY INVOKER SET search_path = pg_catalog "
               f"AS $$ SELECT m.county_code FROM (VALUES {pairs}) AS m(role_name, county_code) "
               "WHERE pg_has_role(current_user, m.role_name, 'USAGE') $$")
        for function in (SEES_ALL, VISIBLE):
            yield f"COMMENT ON FUNCTION {function}() IS 'countyflow row-level security (countyflow grants)'"

    def _ownership(self) -> Iterable[str]:
        yield (f"-- ownership: {self.loader} (no superuser, no BYPASSRLS), so row-level "
               "security binds the marts")
        for schema in SCHEMAS:
            yield f"ALTER SCHEMA {schema} OWNER TO {self.loader}"
        for table in warehouse_tables():
            yield f"ALTER TABLE {table.fullname} OWNER TO {self.loader}"
        for sequence in sorted(Base.metadata._sequences.values(), key=lambda s: s.name):
            yield f"ALTER SEQUENCE {sequence.schema}.{sequence.name} OWNER TO {self.loader}"
        for view in mart_views():
            yield f"ALTER VIEW {view} OWNER TO {self.loader}"
        yield f"ALTER TABLE {default_schema('postgresql')}.{VERSION_TABLE} OWNER TO {self.loader}"
        for function in (SEES_ALL, VISIBLE):
            yield f"ALTER FUNCTION {function}() OWNER TO {self.loader}"

    def _privileges(self, readers: Sequence[str]) -> Iterable[str]:
        counties = list(self.county_roles.values())
        everyone = ", ".join([self.loader, *readers])
        yield "-- privileges: nothing for PUBLIC; readers get SELECT on what they may read"
        yield _do("EXECUTE format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', "
                  "current_database()); "
                  f"EXECUTE format('GRANT CONNECT ON DATABASE %I TO {everyone}', "
                  "current_database()); "
                  f"EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO {self.loader}', "
                  "current_database());")
        yield "REVOKE CREATE ON SCHEMA public FROM PUBLIC"
        yield f"REVOKE ALL ON SCHEMA {', '.join(SCHEMAS)} FROM PUBLIC"
        yield f"GRANT USAGE ON SCHEMA {MARTS_SCHEMA} TO {', '.join(readers)}"
        yield f"GRANT USAGE ON SCHEMA {DW}, {AUDIT} TO {', '.join(counties)}"
        for schema in SCHEMAS:
            yield f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM PUBLIC"
        for view in mart_views():
            yield f"GRANT SELECT ON {view} TO {', '.join(readers)}"
        for table in warehouse_tables():
            yield f"GRANT SELECT ON {table.fullname} TO {', '.join(counties)}"
        for function in (SEES_ALL, VISIBLE):
            yield f"REVOKE ALL ON FUNCTION {function}() FROM PUBLIC"
            yield f"GRANT EXECUTE ON FUNCTION {function}() TO {everyone}"
        yield ("-- large objects live outside any schema and table: a reader who turns "
               "read-only off could store data there. Revoked from PUBLIC in this database "
               "(needs the functions' owner, i.e. a superuser: otherwise PostgreSQL only warns)")
        yield f"REVOKE EXECUTE ON FUNCTION {', '.join(LARGE_OBJECT_WRITERS)} FROM PUBLIC"

    def _row_level_security(self) -> Iterable[str]:
        yield "-- row-level security, forced on the owner too (the marts read as the owner)"
        for table, predicate in row_filters().items():
            rule = f"((SELECT {SEES_ALL}()) OR {predicate})"
            yield f"ALTER TABLE {table.fullname} ENABLE ROW LEVEL SECURITY"
            yield f"ALTER TABLE {table.fullname} FORCE ROW LEVEL SECURITY"
            yield f"DROP POLICY IF EXISTS {POLICY} ON {table.fullname}"
            yield (f"CREATE POLICY {POLICY} ON {table.fullname} AS PERMISSIVE FOR ALL "
                   f"TO PUBLIC USING {rule} WITH CHECK {rule}")

    def _logins(self) -> Iterable[str]:
        if not self.logins:
            return
        yield "-- LOGIN members (set their passwords yourself, e.g. \\password in psql)"
        settings = self._role_settings()
        for login, role in sorted(self.logins.items()):
            yield _do(f"IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{login}') THEN "
                      f"CREATE ROLE {login} LOGIN; ELSE ALTER ROLE {login} LOGIN; END IF;")
            yield f"GRANT {role} TO {login}"
            # a role's own settings apply to sessions of that role only, so copy them
            yield from _set_in_database(login, settings[role])

    def script(self) -> str:
        """The plan as one SQL script (one transaction)."""
        lines = [
            "-- countyflow access control (countyflow grants), generated from "
            f"countyflow/reference/counties.csv: {len(self.county_codes)} counties",
            "BEGIN;",
        ]
        for statement in self.statements():
            lines.append(statement if statement.startswith("--") else f"{statement};")
        lines.append("COMMIT;")
        return "\n".join(lines) + "\n"


LARGE_OBJECT_WRITERS = (
    "pg_catalog.lo_creat(integer)", "pg_catalog.lo_create(oid)",
    "pg_catalog.lo_from_bytea(oid, bytea)", "pg_catalog.lo_import(text)",
    "pg_catalog.lo_import(text, oid)", "pg_catalog.lo_put(oid, bigint, bytea)",
    "pg_catalog.lowrite(integer, bytea)", "pg_catalog.lo_truncate(integer, integer)",
    "pg_catalog.lo_truncate64(integer, bigint)", "pg_catalog.lo_unlink(oid)",
    "pg_catalog.lo_export(oid, text)",
)
"""Functions that create, write or export large objects."""


def _do(body: str) -> str:
    return f"DO $countyflow$ BEGIN {body} END $countyflow$"


def _set_in_database(role: str, settings: Mapping[str, str]) -> Iterable[str]:
    for name, value in settings.items():
        yield _do(f"EXECUTE format('ALTER ROLE {role} IN DATABASE %I SET {name} = {value}', "
                  "current_database());")


# ----------------------------------------------------------------------------- objects


def warehouse_tables() -> list[sa.Table]:
    """Every table of the models (schemas `dw` and `audit`), in dependency order."""
    return list(Base.metadata.sorted_tables)


def mart_views() -> list[str]:
    """Every view of schema `marts` (intermediate views, dimensions and marts alike)."""
    return [view.view_for("postgresql") for view in VIEWS.values()]


def row_filters() -> dict[sa.Table, str]:
    """The tables under row-level security and which rows a county may see in each:
    tables with a `county_code` by that column; a table that only references the ledger
    (the issues) by its submission's row there. Reference tables stay readable in full:
    dates, periods, departments, tracks, sources, and the list of counties itself."""
    ledger = AuditSubmission.__table__
    filters: dict[sa.Table, str] = {}
    for table in warehouse_tables():
        if table is DimCounty.__table__:
            continue
        if "county_code" in table.c:
            filters[table] = f"county_code IN (SELECT {VISIBLE}())"
        elif any(fk.column.table is ledger for fk in table.foreign_keys):
            filters[table] = (f"EXISTS (SELECT 1 FROM {ledger.fullname} s "
                              f"WHERE s.submission_id = {table.name}.submission_id)")
    return filters


# ------------------------------------------------------------------------------- apply


def apply_access(engine: Engine, plan: AccessPlan) -> None:
    """Bring the warehouse to the current schema, then apply the plan in one transaction."""
    if not backend_of(engine).roles:
        raise AccessError("roles and row-level security need PostgreSQL: a DuckDB warehouse "
                          "is protected by its file's permissions")

    ensure_warehouse(engine)
    for attempt in range(1, APPLY_TRIES + 1):
        try:
            with engine.begin() as conn:
                for statement in plan.statements():
                    if not statement.startswith("--"):
                        _execute(conn, statement)
            return
        except sa.exc.DBAPIError as exc:
            if attempt == APPLY_TRIES or not _lost_a_race_for_roles(exc):
                raise
            time.sleep(0.2 * attempt)


APPLY_TRIES = 5
"""How often the plan is applied when another database's plan changed the same roles at the
same moment (the plan is idempotent: the next try finds them and carries on)."""


def _lost_a_race_for_roles(exc: sa.exc.DBAPIError) -> bool:
    """Roles, their memberships and comments belong to the whole cluster, not to one
    database: a plan applied to another database at the same time may have created or
    changed the same ones after this transaction looked (PostgreSQL then reports a duplicate
    key of its role catalogs, or a catalog row updated concurrently)."""
    message = str(exc.orig)
    if isinstance(exc.orig, psycopg.errors.UniqueViolation):
        return "pg_auth" in message  # pg_authid (roles), pg_auth_members (memberships)
    return isinstance(exc.orig, psycopg.errors.InternalError_) and "concurrently" in message


def _execute(conn: Connection, statement: str) -> None:
    # psycopg's format paramstyle would read format()'s %I as a placeholder
    conn.exec_driver_sql(statement.replace("%", "%%"))


__all__ = ["AccessError", "AccessPlan", "apply_access", "mart_views", "row_filters",
           "warehouse_tables"]
