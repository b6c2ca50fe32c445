"""Adding a dataset touches only the dataset's own files (issue 14, CONTRIBUTING.md).

The worked example `examples/sixth_dataset/` (safety inspections at childcare sites) is added
to a copy of the repository exactly as CONTRIBUTING.md says: a contract module, a transform
module, a fact model appended to `warehouse/models.py`, a mart (`.sql` + `.toml`), then an
Alembic revision generated against PostgreSQL and the generated docs refreshed. Then:

- the files that changed are exactly those (nothing else needed editing: registries, the
  loader, the quality gate, the discovery of landing files all find the new dataset);
- `countyflow check` reads a clerk's CSV of the new dataset and applies its rules;
- `countyflow run` on DuckDB and on PostgreSQL loads it through the flow (quality gate on,
  including the checks generated for the new fact table and mart), and the mart shows the
  numbers of the file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.processes import start_countyflow
from tests.warehouse.backends import BACKENDS, empty_warehouse_url, require_postgres, sql_name
from warehouse.engine import make_engine
from warehouse.layout import MARTS_SCHEMA, qualify

pytestmark = pytest.mark.flow

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "sixth_dataset"
PLACED = {
    "childcare_safety_contract.py": "schemas/childcare_safety.py",
    "childcare_safety_transform.py": "countyflow/transform/childcare_safety.py",
    "mart_childcare_safety_county_season.sql": "warehouse/marts/mart_childcare_safety_county_season.sql",
    "mart_childcare_safety_county_season.toml": "warehouse/marts/mart_childcare_safety_county_season.toml",
}
"""Example file → where CONTRIBUTING.md says it goes (the fact model is appended)."""

COUNTY, SEASON = "530602", "2025-summer"
CLERK_CSV = (
    "县区,托管点编码,检查日期,发现隐患数,已整改隐患数\n"
    "昭阳区,ZY-0001,2025-07-10,3,3\n"
    "昭阳区,ZY-0001,2025-08-01,1,0\n"
    "昭阳区,ZY-0002,2025-07-12,2,2\n"
)
WRONG_CSV = CLERK_CSV + "昭阳区,ZY-0003,2025-07-15,1,4\n"  # fixed > found


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout


def _python(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COUNTYFLOW_")}
    result = subprocess.run([sys.executable, *args], cwd=repo, capture_output=True, text=True,
                            env=environment | {"PYTHONPATH": str(repo), **(env or {})})
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def extended_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository's tracked files with the sixth dataset added, committed
    before the change so `git status` shows what the change touched."""
    require_postgres()  # autogenerate reflects a PostgreSQL database (CONTRIBUTING.md)
    repo = tmp_path_factory.mktemp("sixth") / "repo"
    for name in _git(REPO, "ls-files", "-z").split("\0"):
        if name and (REPO / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, repo / name)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "before")

    for example, target in PLACED.items():
        shutil.copy2(EXAMPLE / example, repo / target)
    models = repo / "warehouse" / "models.py"
    fact_model = (EXAMPLE / "childcare_safety_fact_model.py").read_text(encoding="utf-8")
    before, registry = models.read_text(encoding="utf-8").split("\nFACT_MODELS:", 1)
    models.write_text(before.rstrip("\n") + "\n" + fact_model + "\n\nFACT_MODELS:" + registry,
                      encoding="utf-8")

    with empty_warehouse_url("postgresql", repo) as url:
        alembic = ("-m", "alembic", "-c", "warehouse/migrations/alembic.ini")
        _python(repo, *alembic, "upgrade", "head", env={"COUNTYFLOW_WAREHOUSE_URL": url})
        _python(repo, *alembic, "revision", "--autogenerate", "-m", "childcare safety",
                env={"COUNTYFLOW_WAREHOUSE_URL": url})
    _python(repo, "-m", "countyflow.contract_docs")
    _python(repo, "-m", "countyflow.mart_docs")
    return repo


def test_the_change_touches_only_the_datasets_own_files(extended_repo: Path) -> None:
    status = _git(extended_repo, "status", "--porcelain", "--untracked-files=all").splitlines()
    touched = sorted(line[3:] for line in status)
    [migration] = [t for t in touched if t.startswith("warehouse/migrations/versions/")]
    assert touched == sorted([
        *PLACED.values(), "warehouse/models.py", migration,
        "docs/datasets.md", "docs/marts.md",  # generated
    ])
    upgrade, downgrade = (extended_repo / migration).read_text(encoding="utf-8").split(
        "def downgrade")
    assert "create_table" in upgrade and "fact_childcare_safety" in upgrade
    assert "drop_table" in downgrade and "fact_childcare_safety" in downgrade
    docs = (extended_repo / "docs" / "datasets.md").read_text(encoding="utf-8")
    assert "childcare_safety" in docs and "已整改隐患数大于发现隐患数" in docs


def test_countyflow_check_applies_the_new_contract(extended_repo: Path, tmp_path: Path) -> None:
    good, wrong = tmp_path / "good.csv", tmp_path / "wrong.csv"
    good.write_text(CLERK_CSV, encoding="utf-8")
    wrong.write_text(WRONG_CSV, encoding="utf-8")
    env = {"PYTHONPATH": str(extended_repo)}
    checked = start_countyflow(["check", str(good), "--dataset", "childcare_safety",
                                "--county", COUNTY, "--period", SEASON],
                               workdir=tmp_path, env=env)
    out = checked.communicate(timeout=300)[0]
    assert checked.returncode == 0, out
    refused = start_countyflow(["check", str(wrong), "--dataset", "childcare_safety",
                                "--county", COUNTY, "--period", SEASON],
                               workdir=tmp_path, env=env)
    out = refused.communicate(timeout=300)[0]
    assert refused.returncode == 1, out
    assert "fixed_exceed_found" in out or "已整改隐患数大于发现隐患数" in out


@pytest.mark.parametrize("backend", BACKENDS)
def test_countyflow_run_loads_it_into_its_mart(
    prefect_harness: None, extended_repo: Path, tmp_path: Path, backend: str
) -> None:
    landing = tmp_path / "landing"
    (landing / COUNTY / "childcare_safety" / SEASON).mkdir(parents=True)
    (landing / COUNTY / "childcare_safety" / SEASON / "安全检查.csv").write_text(
        CLERK_CSV, encoding="utf-8")
    with empty_warehouse_url(backend, tmp_path) as url:
        run = start_countyflow(
            ["run", "--landing", str(landing), "--warehouse", url], workdir=tmp_path,
            env={"PYTHONPATH": str(extended_repo), "PREFECT_LOGGING_LEVEL": "INFO",
                 "COUNTYFLOW_ARCHIVE_DIR": str(tmp_path / "archive"),
                 "COUNTYFLOW_REPORTS_DIR": str(tmp_path / "reports"),
                 "COUNTYFLOW_STAGING_DIR": str(tmp_path / "staging")})
        out = run.communicate(timeout=600)[0]
        assert run.returncode == 0, out
        assert "quality gate passed" in out  # with the new fact table's and mart's checks
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                # A view this process does not know (it lives in the extended copy).
                mart = qualify(conn.dialect.name, MARTS_SCHEMA, "mart_childcare_safety_county_season")
                row = conn.execute(sa.text(
                    f"SELECT county_code, season, inspections, sites_inspected, hazards_found,"
                    f" hazards_fixed, fixed_rate FROM {mart}")).one()
                ledger = conn.execute(sa.text(
                    f"SELECT status, rows_in, rows_loaded FROM {sql_name(conn, 'audit_submission')}"
                    " WHERE dataset = 'childcare_safety'")).one()
        finally:
            engine.dispose()
    assert tuple(ledger) == ("accepted", 3, 3)
    assert tuple(row) == (COUNTY, SEASON, 3, 2, 6, 5, 5 / 6)


def test_the_gate_and_the_loader_know_the_new_dataset(extended_repo: Path) -> None:
    names = _python(extended_repo, "-c", "from warehouse.expectations import build_checks\n"
                    "print('\\n'.join(c.name for c in build_checks()))").split()
    new = [name for name in names if "childcare_safety" in name]
    assert "fact_childcare_safety.hazards_fixed.fixed_exceed_found" in new  # the contract's rule
    assert "mart_childcare_safety_county_season.inspections.equals_fact_childcare_safety" in new
    assert "mart_childcare_safety_county_season.hazards_found.equals_fact_childcare_safety" in new
    loads = _python(extended_repo, "-c", "from warehouse.load import FACT_LOADS\n"
                    "load = FACT_LOADS['childcare_safety']\n"
                    "print(load.table.name, [d.table.name for d in load.versioned],"
                    " [d.table.name for d in load.referenced], load.departments)")
    assert loads.strip() == "fact_childcare_safety [] ['dim_childcare_site'] False"
