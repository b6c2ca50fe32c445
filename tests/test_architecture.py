"""The code's shape, checked like its behaviour: ruff and mypy are clean and the layers hold
(`[tool.importlinter]` in pyproject.toml; CONTRIBUTING.md lists them)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail(f"{name} is not installed in this environment: `uv sync` installs the dev group")
    return found


def test_the_layers_hold() -> None:
    done = subprocess.run([_tool("lint-imports")], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_ruff_is_clean() -> None:
    done = subprocess.run([_tool("ruff"), "check", "."], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:]


def test_mypy_is_clean() -> None:
    """`[tool.mypy]` in pyproject.toml says what is checked; `.mypy_cache` keeps reruns quick."""
    done = subprocess.run([_tool("mypy")], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_no_dialect_is_compared_outside_the_backend_object() -> None:
    """Every DuckDB/PostgreSQL difference is decided by `warehouse.backends`: nothing else
    compares a dialect or backend name."""
    import re

    comparison = re.compile(
        r"""(dialect\.name|get_backend_name\(\))\s*(==|!=|in\b)|[=!]=\s*["'](duckdb|postgresql|postgres)["']""")
    offenders = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for package in ("countyflow", "flows", "tasks", "warehouse", "schemas")
        for path in sorted((REPO / package).rglob("*.py"))
        if path != REPO / "warehouse" / "backends.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if comparison.search(line)
    ]
    assert not offenders, "\n".join(offenders)


def test_imports_are_at_module_top_or_say_why_not() -> None:
    """An import inside a function is for a heavy or optional dependency only, and says so:
    a `# lazy: <reason>` line right above its group of imports (or on the import itself)."""
    import ast

    offenders = []
    for package in ("countyflow", "flows", "tasks", "warehouse", "schemas"):
        for path in sorted((REPO / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            lines = path.read_text(encoding="utf-8").splitlines()
            for function in ast.walk(ast.parse("\n".join(lines))):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for block in ast.walk(function):
                    previous: ast.stmt | None = None
                    body = getattr(block, "body", None)
                    for statement in body if isinstance(body, list) else ():
                        is_import = isinstance(statement, ast.Import | ast.ImportFrom)
                        continues_group = (isinstance(previous, ast.Import | ast.ImportFrom)
                                           and previous.end_lineno == statement.lineno - 1)
                        if is_import and not continues_group:
                            here, above = lines[statement.lineno - 1], lines[statement.lineno - 2]
                            if "# lazy:" not in here and not above.strip().startswith("# lazy:"):
                                offenders.append(f"{path.relative_to(REPO)}:{statement.lineno}: "
                                                 f"{here.strip()}")
                        previous = statement
    assert not offenders, "\n".join(sorted(set(offenders)))
