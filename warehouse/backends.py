"""Every difference between DuckDB and PostgreSQL, decided in one place.

The rest of the code never compares dialect names: it asks the warehouse's `Backend`
(`backend_of(engine | connection | URL)`) what it can do — keep schemas or fold them into
one, take advisory locks, grant to roles, register an Arrow table as a view, be a file
that one process writes and that is checkpointed — and takes the path that answer says.
Adding a backend means one more `Backend` here and the code paths its answers select.

| | DuckDB (embedded, default) | PostgreSQL (production) |
|---|---|---|
| schemas (`warehouse.layout`) | folded into `main` | `dw`, `marts`, `audit` |
| Alembic's version table | default schema | `public` |
| concurrent writers | one process per file; one writer thread in it | many, kept apart by advisory locks |
| access control (`warehouse.access`) | the file's permissions | roles, grants, row-level security |
| bulk load (`warehouse.staging`) | Arrow table registered as a view | COPY into a temporary table; facts: COPY into the table (where row-level security does not apply) |
| the quality gate's connection | a dialect that buffers results (GX and duckdb-engine) | as is |
| identity of the warehouse (`warehouse_key`) | the file's real path | the server's system identifier + database |
| after a run (`warehouse.engine.checkpoint`) | CHECKPOINT: the file alone is the warehouse | nothing |
| a migration changing a table's constraints (foreign, primary or unique key, NOT NULL) | the table is rebuilt | ALTER TABLE |
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, Connection, Engine, make_url


class UnsupportedBackendError(ValueError):
    """A URL or connection to a database countyflow does not run on."""


@dataclass(frozen=True)
class Backend:
    """What one kind of warehouse database can do (see the module docstring)."""

    name: str
    folds_schemas: bool
    """Keeps every warehouse object in its default schema (no `dw`/`marts`/`audit`)."""
    version_table_schema: str | None
    """Where Alembic keeps its version table (None: the default schema)."""
    is_file: bool
    """An embedded file: one process writes it, it is created on first use, checkpointed
    after a run, and identified by its real path."""
    advisory_locks: bool
    """Writers from several processes are kept apart by transaction-level advisory locks."""
    roles: bool
    """Has login roles, grants and row-level security (`countyflow grants`)."""
    registers_arrow: bool
    """Reads an Arrow table registered on the connection as a view (else: COPY into a
    temporary table)."""
    gx_buffers_results: bool
    """The quality gate connects through a dialect that fetches every result at once
    (`warehouse.quality`: GX reads results after closing its connection)."""
    alters_constraints: bool = True
    """Adds and drops the constraints of an existing table — foreign, primary and unique
    keys, NOT NULL — also on a table another references (else the table is rebuilt)."""
    driver: str | None = None
    """The only DBAPI driver countyflow connects with (None: the dialect's own)."""
    identity_queries: tuple[str, ...] = ()
    """Queries naming the warehouse as the server knows it, tried in order (`warehouse_identity`)."""
    checkpoint_sql: str | None = None
    """What makes the file alone the whole warehouse after a run (`checkpoint`)."""

    def file_path(self, url: str | URL) -> Path | None:
        """The warehouse file of a file backend's URL (None: in memory, or not a file)."""
        database = make_url(url).database if self.is_file else None
        if not database or database.startswith(":memory:"):
            return None
        return Path(database).expanduser()


DUCKDB = Backend(
    name="duckdb", folds_schemas=True, version_table_schema=None, is_file=True,
    advisory_locks=False, roles=False, registers_arrow=True, gx_buffers_results=True,
    alters_constraints=False, checkpoint_sql="CHECKPOINT",
)
POSTGRESQL = Backend(
    name="postgresql", folds_schemas=False, version_table_schema="public", is_file=False,
    advisory_locks=True, roles=True, registers_arrow=False, gx_buffers_results=False,
    driver="psycopg",
    identity_queries=(
        # the cluster's system identifier: the same server however it is reached
        "SELECT (SELECT system_identifier::text FROM pg_control_system()) || '/' || current_database()",
        # a role that may not read the control data: the server's address and port
        "SELECT coalesce(host(inet_server_addr()), 'local') || ':' || "
        "coalesce(inet_server_port()::text, '') || '/' || current_database()",
    ),
)
BACKENDS: tuple[Backend, ...] = (DUCKDB, POSTGRESQL)
_BY_NAME = {backend.name: backend for backend in BACKENDS} | {"postgres": POSTGRESQL}


def backend_named(name: str) -> Backend:
    """The backend of a SQLAlchemy dialect or URL backend name."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnsupportedBackendError(
            f"unsupported warehouse backend {name!r}: use duckdb:// or postgresql://") from None


def backend_of(bind: Engine | Connection | URL | str) -> Backend:
    """The backend of an engine, a connection or a URL (written or parsed)."""
    if isinstance(bind, Engine | Connection):
        return backend_named(bind.dialect.name)
    url = make_url(bind) if isinstance(bind, str) else bind
    return backend_named(url.get_backend_name())


def warehouse_key(safe_url: str, identity: str | None = None) -> str:
    """What one warehouse is, however its URL is spelled: a file backend's real path
    (symlinks resolved), a server's own identity when it could be asked, else the URL with
    password and driver dropped, host lower-cased and the default port filled in. Never
    holds a password (`safe_url` has it masked; it is dropped anyway)."""
    url = make_url(safe_url)
    backend = backend_of(url)
    path = backend.file_path(url)
    if path is not None:
        return f"{backend.name}:{path.resolve()}"
    if backend.is_file:  # in memory: nothing to share, the URL says it all
        return url.render_as_string(hide_password=True)
    if identity is not None:
        return f"{backend.name}:{identity}"
    url = url.set(drivername=backend.name, password=None, query={},
                  port=url.port or _DEFAULT_PORTS.get(backend.name),
                  host=(url.host or "").lower() or None)
    return url.render_as_string(hide_password=True)


_DEFAULT_PORTS = {"postgresql": 5432}
