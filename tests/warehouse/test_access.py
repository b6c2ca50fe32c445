"""Access control (`countyflow grants`): roles, grants and row-level security.

PostgreSQL only (row-level security and roles are PostgreSQL features; a DuckDB file is
protected by its file permissions, and `grants` says so). Every check connects for real,
as a LOGIN role that is a member of the role under test, the way people and BI tools
will: the group roles themselves are NOLOGIN. The test cluster trusts local connections,
so the logins need no password. Roles are cluster-wide: they get a random prefix and are
dropped afterwards.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import errors
from sqlalchemy.engine import Engine, make_url
from typer.testing import CliRunner

from countyflow.reference import counties
from tests.postgres import admin_execute, create_pg_database, drop_pg_database, require_postgres
from tests.warehouse import builders as b
from tests.warehouse.backends import sql_name
from tests.warehouse.sample import load_sample
from warehouse.access import AccessError, AccessPlan, apply_access, row_filters
from warehouse.engine import make_engine
from warehouse.marts import MARTS, VIEWS, _replace_view_keeping_access, create_marts
from warehouse.models import Base
from warehouse.schema import ensure_warehouse

CODES = tuple(sorted(counties()["county_code"].to_list()))
OTHER_COUNTY_ROWS = "county_code <> %(own)s"


# --------------------------------------------------------------------- without a database


def test_the_plan_follows_the_county_reference_data() -> None:
    plan = AccessPlan(CODES)
    assert len(CODES) == 11
    assert plan.county_roles == {code: f"county_{code}" for code in CODES}
    assert (plan.loader, plan.bi_reader) == ("countyflow_loader", "bi_reader")
    script = plan.script()
    for code in CODES:
        assert f"CREATE ROLE county_{code} NOLOGIN" in script
        assert f"('county_{code}', '{code}')" in script  # the row-level security mapping
    assert "LOGIN;" not in script.replace("NOLOGIN;", "")  # no login unless asked for
    assert script.startswith("-- countyflow access control") and script.endswith("COMMIT;\n")


def test_every_warehouse_table_is_classified_for_row_level_security() -> None:
    filtered = {table.name for table in row_filters()}
    assert {t.name for t in Base.metadata.tables.values() if t.name.startswith("fact_")} <= filtered
    assert {"dim_school", "dim_childcare_site", "dim_health_facility", "ref_calendar",
            "audit_submission", "audit_issue"} <= filtered
    unfiltered = {t.name for t in Base.metadata.tables.values()} - filtered
    assert unfiltered == {"dim_date", "dim_period", "dim_county", "dim_department",
                          "dim_vocational_track", "dim_volunteer_source",
                          "audit_derived_objects"}  # no county in them


def test_plan_rejects_bad_names() -> None:
    with pytest.raises(AccessError, match="not one of the roles"):
        AccessPlan(CODES, logins={"alice": "superuser"})
    with pytest.raises(AccessError, match="role name"):
        AccessPlan(CODES, logins={"Robert'); DROP TABLE x; --": "bi_reader"})
    with pytest.raises(AccessError, match="6 digits"):
        AccessPlan(("53060x",))


def test_grants_print_needs_no_database_and_apply_refuses_duckdb(tmp_path: Path) -> None:
    from countyflow.cli import app

    runner = CliRunner()
    printed = runner.invoke(app, ["grants", "--login", "superset=bi_reader"])
    assert printed.exit_code == 0, printed.output
    assert "CREATE POLICY countyflow_county_rows ON dw.fact_childcare_site_season" in printed.output
    assert "GRANT bi_reader TO superset" in printed.output
    refused = runner.invoke(app, ["grants", "--apply", "--warehouse",
                                  f"duckdb:///{tmp_path / 'w.duckdb'}"])
    assert refused.exit_code == 2 and "PostgreSQL" in refused.output
    engine = make_engine(f"duckdb:///{tmp_path / 'w2.duckdb'}")
    with pytest.raises(AccessError, match="PostgreSQL"):
        apply_access(engine, AccessPlan(CODES))
    engine.dispose()


# ------------------------------------------------------------------------ on PostgreSQL


@dataclass
class Secured:
    url: str
    admin: Engine
    plan: AccessPlan
    logins: dict[str, str]  # role under test → its LOGIN member

    def connect(self, role: str) -> psycopg.Connection[Any]:
        """A real session as the LOGIN member of `role` (trust authentication)."""
        url = make_url(self.url).set(username=self.logins[role], password=None)
        return psycopg.connect(url.set(drivername="postgresql").render_as_string(
            hide_password=False), autocommit=True)

    def admin_count(self, name: str, where: str = "TRUE", **params: Any) -> int:
        with self.admin.connect() as conn:
            return int(conn.exec_driver_sql(
                f"SELECT COUNT(*) FROM {sql_name(conn, name)} WHERE {where}", params
            ).scalar_one())


@pytest.fixture(scope="module")
def secured() -> Iterator[Secured]:
    """The sample warehouse (昭阳区 and 绥江县 have data), with the access plan applied
    twice (it is idempotent) and a LOGIN member for every role."""
    require_postgres()
    prefix = f"cft{uuid.uuid4().hex[:8]}_"
    base = AccessPlan(CODES, prefix=prefix)
    logins = {role: f"{role}_login" for role in base.group_roles}
    plan = AccessPlan(CODES, prefix=prefix, logins={login: role for role, login in logins.items()})
    url = create_pg_database()
    admin = make_engine(url)
    try:
        ensure_warehouse(admin)
        load_sample(admin)
        apply_access(admin, plan)
        yield Secured(url, admin, plan, logins)
    finally:
        admin.dispose()
        drop_pg_database(url)
        for role in [*logins.values(), *plan.group_roles]:
            admin_execute(f"DROP ROLE IF EXISTS {role}")


def _count(conn: psycopg.Connection[Any], sql: str, **params: Any) -> int:
    row = conn.execute(sql, params).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return int(row[0])


pytestmark = pytest.mark.postgres


def test_group_roles_cannot_log_in_and_logins_are_their_members(secured: Secured) -> None:
    with secured.admin.connect() as conn:
        roles = dict(conn.execute(sa.text(
            "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE :p"),
            {"p": f"{secured.plan.prefix}%"}).all())
        for role, login in secured.logins.items():
            assert roles[role] is False and roles[login] is True
            assert conn.execute(sa.text("SELECT pg_has_role(:l, :r, 'MEMBER')"),
                                {"l": login, "r": role}).scalar_one()
        owners = conn.execute(sa.text(
            "SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname IN ('dw', 'marts', 'audit') AND c.relkind IN ('r', 'v', 'S')"
        )).scalars().all()
        assert owners == [secured.plan.loader]  # not a superuser: RLS binds the marts
        bypass = conn.execute(sa.text(
            "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = :r"),
            {"r": secured.plan.loader}).scalar_one()
        assert bypass is False


@pytest.mark.parametrize("code", CODES)
def test_a_county_sees_only_its_own_rows_in_every_table_and_mart(
    secured: Secured, code: str
) -> None:
    role = secured.plan.county_role(code)
    with secured.connect(role) as conn:
        for table in row_filters():
            name = sql_name(secured.admin, table.name)
            if "county_code" in table.c:
                assert _count(conn, f"SELECT COUNT(*) FROM {name} WHERE {OTHER_COUNTY_ROWS}",
                              own=code) == 0, (code, name)
                assert _count(conn, f"SELECT COUNT(*) FROM {name}") == secured.admin_count(
                    table.name, "county_code = %(own)s", own=code), (code, name)
            else:  # the issues, through their submission
                assert _count(conn, f"SELECT COUNT(*) FROM {name} i JOIN audit.audit_submission s "
                              "USING (submission_id)") == _count(conn, f"SELECT COUNT(*) FROM {name}")
                with secured.admin.connect() as admin:
                    expected = admin.exec_driver_sql(
                        f"SELECT COUNT(*) FROM {name} i JOIN audit.audit_submission s "
                        "USING (submission_id) WHERE s.county_code = %(own)s", {"own": code}
                    ).scalar_one()
                assert _count(conn, f"SELECT COUNT(*) FROM {name}") == expected
        for mart in VIEWS.values():  # the marts and the intermediate views under them
            view = sql_name(secured.admin, mart.name)
            if "county_code" in mart.columns and mart.kind != "dimension":
                assert _count(conn, f"SELECT COUNT(*) FROM {view} WHERE {OTHER_COUNTY_ROWS}",
                              own=code) == 0, (code, view)
                assert _count(conn, f"SELECT COUNT(*) FROM {view}") == secured.admin_count(
                    mart.name, "county_code = %(own)s", own=code), (code, view)
        # the city KPIs a county sees are its own county's figures
        sites = conn.execute(
            "SELECT value FROM marts.mart_city_kpi WHERE domain = 'childcare' "
            "AND metric = 'sites' AND period = '2025-summer'").fetchall()
        own_sites = secured.admin_count("fact_childcare_site_season",
                                        "county_code = %(own)s AND period = '2025-summer'",
                                        own=code)
        assert [row[0] for row in sites] == ([float(own_sites)] if own_sites else [])
        scopes = conn.execute("SELECT DISTINCT scope FROM marts.mart_city_kpi").fetchall()
        assert scopes in ([], [(code,)])  # its own figures, labelled as such


def test_a_county_reads_the_conformed_dimensions_in_full(secured: Secured) -> None:
    """The list of counties and of periods is reference data, as `dw.dim_county` is."""
    with secured.connect(secured.plan.county_role(b.SUIJIANG)) as conn:
        assert _count(conn, "SELECT COUNT(*) FROM marts.mart_dim_county") == 11
        assert _count(conn, "SELECT COUNT(*) FROM marts.mart_dim_period") == \
            secured.admin_count("dim_period")


def test_sample_has_rows_of_several_counties(secured: Secured) -> None:
    """Guards the test above: there are other counties' rows to hide."""
    assert secured.admin_count("fact_childcare_site_season", "county_code = %(c)s",
                               c=b.SUIJIANG) > 0
    assert secured.admin_count("fact_childcare_site_season", "county_code = %(c)s",
                               c=b.ZHAOYANG) > 0
    assert secured.admin_count("fact_health_monthly") > 0


def test_bi_reader_reads_every_mart_in_full_and_no_table(secured: Secured) -> None:
    with secured.connect(secured.plan.bi_reader) as conn:
        for mart in VIEWS.values():
            assert _count(conn, f"SELECT COUNT(*) FROM {mart.name}") == secured.admin_count(
                mart.name)  # bare names: bi_reader's search path is `marts`
        assert _count(conn, "SELECT COUNT(*) FROM mart_dim_county") == 11
        assert conn.execute("SELECT DISTINCT scope FROM mart_city_kpi").fetchall() == [("city",)]
        assert _count(conn, "SELECT COUNT(*) FROM mart_dim_period WHERE start_date IS NULL") == 0
        assert _count(conn, "SELECT COUNT(DISTINCT county_code) FROM mart_childcare_county_season") == 2
        for table in [*Base.metadata.tables.values()]:
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(f"SELECT 1 FROM {table.fullname} LIMIT 1")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("SELECT 1 FROM public.alembic_version")


FORBIDDEN = (
    "INSERT INTO dw.fact_childcare_site_season SELECT * FROM dw.fact_childcare_site_season",
    "UPDATE dw.fact_childcare_site_season SET children_enrolled = 0",
    "DELETE FROM dw.fact_health_monthly",
    "DELETE FROM audit.audit_submission",
    "TRUNCATE dw.fact_vocational_enrollment",
    "INSERT INTO marts.mart_city_kpi VALUES ('x', 'y', 'z', 1)",
    "UPDATE marts.mart_city_kpi SET value = 0",
    "CREATE TABLE marts.mine (x int)",
    "CREATE TABLE dw.mine (x int)",
    "CREATE TABLE public.mine (x int)",
    "CREATE TEMPORARY TABLE mine (x int)",
    "CREATE SCHEMA mine",
    "CREATE VIEW marts.mine AS SELECT 1 AS x",
    "DROP VIEW marts.mart_city_kpi",
    "ALTER TABLE dw.fact_health_monthly DISABLE ROW LEVEL SECURITY",
    "ALTER VIEW marts.mart_city_kpi RENAME TO mine",
    "DROP POLICY countyflow_county_rows ON dw.fact_health_monthly",
    "COPY (SELECT * FROM marts.mart_city_kpi) TO '/tmp/countyflow-exfiltrated.csv'",
    "COPY dw.fact_health_monthly TO '/tmp/countyflow-exfiltrated.csv'",
    "COPY dw.fact_health_monthly FROM '/etc/hostname'",
    # large objects sit outside every schema: no storing data there either
    "SELECT lo_from_bytea(0, convert_to(repeat('x', 977000), 'UTF8'))",
    "SELECT lo_create(0)",
    "SELECT lo_creat(-1)",
    "SELECT lo_import('/etc/hostname')",
)


# A mart is not an updatable view: PostgreSQL refuses to write it before checking rights,
# which the has_table_privilege check below covers.
REFUSED = (errors.InsufficientPrivilege, errors.WrongObjectType,
           errors.ObjectNotInPrerequisiteState)


@pytest.mark.parametrize("who", ["bi_reader", *(f"county_{code}" for code in CODES)])
def test_readers_can_neither_write_nor_change_nor_export(secured: Secured, who: str) -> None:
    role = secured.plan.bi_reader if who == "bi_reader" else secured.plan.county_role(who[-6:])
    with secured.connect(role) as conn:
        assert conn.execute("SHOW default_transaction_read_only").fetchone() == ("on",)
        for statement in FORBIDDEN:
            with pytest.raises((errors.ReadOnlySqlTransaction, *REFUSED)):
                conn.execute(statement)
        # read-only is only the default: privileges refuse even a read-write transaction
        conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE")
        for statement in FORBIDDEN:
            with pytest.raises(REFUSED):
                conn.execute(statement)
        # without the grant option PostgreSQL refuses or only warns, and grants nothing
        with contextlib.suppress(errors.InsufficientPrivilege):
            conn.execute("GRANT SELECT ON dw.fact_health_monthly TO PUBLIC")
        writable = conn.execute(
            "SELECT n.nspname || '.' || c.relname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname IN ('dw', 'marts', 'audit', 'public') AND c.relkind IN ('r', 'v') "
            "AND (has_table_privilege(c.oid, 'INSERT') OR has_table_privilege(c.oid, 'UPDATE') "
            "OR has_table_privilege(c.oid, 'DELETE') OR has_table_privilege(c.oid, 'TRUNCATE'))"
        ).fetchall()
        assert writable == []
        creatable = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE has_schema_privilege(oid, 'CREATE')"
        ).fetchall()
        assert creatable == []
    assert not Path("/tmp/countyflow-exfiltrated.csv").exists()
    with secured.admin.connect() as conn:
        assert conn.exec_driver_sql(
            "SELECT COUNT(*) FROM pg_class c, aclexplode(c.relacl) a "
            "WHERE c.oid = 'dw.fact_health_monthly'::regclass AND a.grantee = 0"
        ).scalar_one() == 0


def test_a_loader_member_runs_the_pipeline_under_row_level_security(secured: Secured) -> None:
    """The production set-up: the pipeline logs in as a member of countyflow_loader (no
    superuser): it migrates, re-seeds, recreates the marts and loads facts."""
    login = secured.logins[secured.plan.loader]
    engine = make_engine(make_url(secured.url).set(username=login).render_as_string(
        hide_password=False))
    try:
        ensure_warehouse(engine)
        before = secured.admin_count("fact_childcare_site_season")
        b.load(engine, "childcare_sites", "2025-summer", [
            b.site("YS-001", county="530625", children=12, left_behind=3)], county="530625")
        assert secured.admin_count("fact_childcare_site_season") == before + 1
        with engine.connect() as conn:  # the loader sees every county
            assert conn.exec_driver_sql(
                "SELECT COUNT(DISTINCT county_code) FROM marts.mart_childcare_county_season"
            ).scalar_one() == 3
    finally:
        engine.dispose()
    with secured.connect(secured.plan.county_role("530625")) as conn:  # search path: marts first
        assert _count(conn, "SELECT COUNT(*) FROM mart_childcare_site_season") == 1
    test_group_roles_cannot_log_in_and_logins_are_their_members(secured)  # owners unchanged


def _access_snapshot(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return {
            "policies": conn.exec_driver_sql(
                "SELECT schemaname, tablename, policyname, qual, with_check FROM pg_policies "
                "ORDER BY 1, 2, 3").all(),
            "acl": conn.exec_driver_sql(
                "SELECT n.nspname, c.relname, pg_get_userbyid(c.relowner), c.relacl::text, "
                "c.relrowsecurity, c.relforcerowsecurity FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname IN ('dw', 'marts', 'audit') ORDER BY 1, 2").all(),
            "settings": conn.exec_driver_sql(
                "SELECT pg_get_userbyid(setrole), setconfig::text FROM pg_db_role_setting "
                "WHERE setdatabase = (SELECT oid FROM pg_database "
                "WHERE datname = current_database()) ORDER BY 1").all(),
        }


def test_grants_are_idempotent_and_survive_a_run(secured: Secured) -> None:
    before = _access_snapshot(secured.admin)
    apply_access(secured.admin, secured.plan)
    assert _access_snapshot(secured.admin) == before
    ensure_warehouse(secured.admin)  # a run as superuser: the marts are replaced in place
    assert _access_snapshot(secured.admin) == before


def test_a_mart_recreated_with_other_columns_keeps_its_owner_and_grants(secured: Secured) -> None:
    view = "marts.mart_city_kpi"
    acl = "SELECT pg_get_userbyid(relowner), relacl::text FROM pg_class WHERE oid = %(v)s::regclass"
    with secured.admin.begin() as conn:
        before = conn.exec_driver_sql(acl, {"v": view}).one()
        _replace_view_keeping_access(conn, view, "SELECT domain, metric FROM (" +
                                     MARTS["mart_city_kpi"].query + ") AS m")  # a column fewer
        assert conn.exec_driver_sql(acl, {"v": view}).one() == before
        conn.rollback()


def test_a_view_added_by_an_upgrade_gets_the_owner_and_readers_of_the_marts(
    secured: Secured,
) -> None:
    """An upgrade that adds a view (run as the superuser here) must not leave it owned by
    a role that skips row-level security, nor unreadable until `grants` runs again."""
    view = "marts.mart_childcare_volunteers_by_kind"  # no view depends on it
    access = ("SELECT pg_get_userbyid(c.relowner), a.grantee::regrole::text, a.privilege_type "
              "FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = %(v)s::regclass")
    with secured.admin.begin() as conn:
        before = set(conn.exec_driver_sql(access, {"v": view}).all())
        conn.exec_driver_sql(f"DROP VIEW {view}")
        create_marts(conn)
        after = set(conn.exec_driver_sql(access, {"v": view}).all())
        conn.rollback()
    assert after == before
    assert {owner for owner, _, _ in after} == {secured.plan.loader}
    assert {grantee for _, grantee, privilege in after if privilege == "SELECT"} >= {
        secured.plan.bi_reader, *secured.plan.county_roles.values()}


def test_two_databases_of_one_cluster_secured_at_once_both_succeed(tmp_path: Path) -> None:
    """Roles belong to the whole cluster: while one database's `grants --apply` has created
    them (not yet committed), another's waits for it and then finds them taken. The second
    one tries again and succeeds instead of failing on a duplicate role."""
    import threading

    require_postgres()
    prefix = f"cft{uuid.uuid4().hex[:8]}_"
    plan = AccessPlan(CODES[:2], prefix=prefix, logins={f"{prefix}viewer": f"{prefix}bi_reader"})
    urls = [create_pg_database(), create_pg_database()]
    engines = [make_engine(url) for url in urls]
    try:
        for engine in engines:
            ensure_warehouse(engine)
        failed: list[BaseException] = []
        with engines[0].connect() as first:
            with first.begin():
                for statement in plan.statements():  # the first apply, left open
                    if not statement.startswith("--"):
                        first.exec_driver_sql(statement.replace("%", "%%"))

                def second() -> None:
                    try:
                        apply_access(engines[1], plan)
                    except BaseException as exc:  # reported below, not lost in the thread
                        failed.append(exc)

                thread = threading.Thread(target=second)
                thread.start()
                _wait_until_blocked(engines[0], urls[1])
            thread.join(timeout=120)  # the first committed when its block ended
        assert not thread.is_alive()
        assert not failed, failed
        for engine in engines:
            with engine.connect() as conn:
                assert conn.exec_driver_sql(
                    "SELECT pg_has_role(%(login)s, %(role)s, 'MEMBER')",
                    {"login": f"{prefix}viewer", "role": plan.bi_reader}).scalar_one()
    finally:
        for engine in engines:
            engine.dispose()
        for url in urls:
            drop_pg_database(url)
        for role in [f"{prefix}viewer", *plan.group_roles]:
            admin_execute(f"DROP ROLE IF EXISTS {role}")


def _wait_until_blocked(engine: Engine, url: str, seconds: float = 60) -> None:
    """Until a session of `url`'s database waits for a lock (the second apply)."""
    import time

    database = make_url(url).database
    deadline = time.monotonic() + seconds
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.exec_driver_sql(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = %(d)s "
                "AND wait_event_type = 'Lock'", {"d": database}).scalar_one()
            if waiting:
                return
            time.sleep(0.05)
    raise AssertionError(f"the second apply never waited for the first ({seconds} s)")
