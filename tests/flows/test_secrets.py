"""The warehouse password never shows: not in logs (Python's and Prefect's), exception
text, flow-run parameters, state messages, artifacts, nor in files a run writes.

The password comes from the URL (the worst case), or from a Prefect Secret block
(COUNTYFLOW_WAREHOUSE_PASSWORD_BLOCK). A run against a closed port fails while connecting;
a run against the test server succeeds (it trusts local connections and ignores the
password), so its logs, artifacts, reports and quality docs can be searched too. Logging
is opened up to DEBUG for the duration, so nothing hides below the usual threshold.
"""

from __future__ import annotations

import json
import logging
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from countyflow.settings import Settings
from tests.warehouse.backends import create_pg_database, drop_pg_database, require_postgres

pytestmark = [pytest.mark.flow, pytest.mark.postgres]

SUIJIANG, SUMMER = "530626", "2025-summer"


class Everything(logging.Handler):
    """Every record, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def every_log() -> Iterator[Everything]:
    handler = Everything()
    loggers = [logging.getLogger(), logging.getLogger("prefect"), logging.getLogger("sqlalchemy")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    from countyflow.demo import plan_demo_submissions, write_submissions

    files = [s for s in plan_demo_submissions() if s.file.county_code == SUIJIANG
             and s.file.period == SUMMER and s.file.dataset == "childcare_sites"]
    write_submissions(str(tmp_path / "landing"), files)
    return tmp_path / "landing"


def _settings(folder: Path, landing: Path, **overrides: Any) -> Settings:
    return Settings(landing=str(landing), archive_dir=folder / "archive",
                    reports_dir=folder / "reports", staging_dir=folder / "staging",
                    data_docs_dir=folder / "quality", **overrides)


def _prefect_record(flow_run_id: Any) -> list[str]:
    """What the Prefect API keeps of a flow run: parameters, states, logs, task runs,
    artifacts."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterId,
        LogFilter,
        LogFilterFlowRunId,
    )
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()  # send what is queued, and wait
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(flow_run_id)
        logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
        tasks = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    record = [json.dumps(run.parameters, default=str), run.model_dump_json()]
    record += [log.model_dump_json() for log in logs]
    record += [task.model_dump_json() for task in tasks]
    record += [artifact.model_dump_json() for artifact in artifacts]
    assert logs and tasks, "the run left no logs or task runs to search"
    return record


def _files(folder: Path) -> list[str]:
    return [path.read_bytes().decode("utf-8", "replace") for path in folder.rglob("*")
            if path.is_file()]


def _run(settings: Settings) -> tuple[Any, list[str]]:
    """Run the flow; its final state and the text of its exception, if any."""
    from flows.ingest import ingest_landing_zone
    from tasks.resources import dispose_engines

    try:
        state = ingest_landing_zone(settings, return_state=True)
    finally:
        dispose_engines()
    texts = [str(state.message)]
    result = state.result(raise_on_failure=False)
    if isinstance(result, BaseException):
        texts += [repr(result), "".join(traceback.format_exception(result))]
    return state, texts


@pytest.fixture
def password() -> str:
    return f"s3cr3t-{uuid.uuid4().hex}"


@pytest.mark.parametrize("source", ["url", "secret-block"])
def test_a_failed_connection_shows_no_password(
    prefect_harness: None, every_log: Everything, landing: Path, tmp_path: Path,
    password: str, source: str,
) -> None:
    closed = "postgresql+psycopg://countyflow@127.0.0.1:1/countyflow"  # nothing listens there
    if source == "url":
        settings = _settings(tmp_path, landing,
                             warehouse_url=make_url(closed).set(password=password)
                             .render_as_string(hide_password=False))
    else:
        from prefect.blocks.system import Secret

        from countyflow.settings import _secret_block_value

        block = f"cf-test-{uuid.uuid4().hex[:8]}"
        Secret(value=password).save(block, overwrite=True)
        _secret_block_value.cache_clear()
        settings = _settings(tmp_path, landing, warehouse_url=closed,
                             warehouse_password_block=block)
        assert password in settings.sqlalchemy_url()  # the block's password is the one used
    state, exception = _run(settings)
    assert state.is_failed()
    assert any("Connection refused" in text or "connection failed" in text for text in exception)
    evidence = [*exception, *every_log.lines, *_prefect_record(state.state_details.flow_run_id),
                *_files(tmp_path)]
    leaks = [text for text in evidence if password in text]
    assert not leaks, leaks[:3]


def test_a_successful_run_shows_no_password(
    prefect_harness: None, every_log: Everything, landing: Path, tmp_path: Path, password: str
) -> None:
    """Against the test server, which ignores the password: a whole run (load, quality
    gate, artifacts, clerk reports, Data Docs) with the password in the URL."""
    require_postgres()
    url = create_pg_database()
    try:
        settings = _settings(tmp_path, landing, warehouse_url=make_url(url).set(
            password=password).render_as_string(hide_password=False))
        state, texts = _run(settings)
        assert state.is_completed(), texts
        record = _prefect_record(state.state_details.flow_run_id)
        assert any("countyflow-run-summary" in text for text in record)  # artifacts were made
        evidence = [*texts, *every_log.lines, *record, *_files(tmp_path)]
        leaks = [text for text in evidence if password in text]
        assert not leaks, leaks[:3]
    finally:
        drop_pg_database(url)
