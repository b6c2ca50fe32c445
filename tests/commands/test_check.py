"""`countyflow check`: one file validated without a warehouse; exit codes and output."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from countyflow.cli import app
from countyflow.commands.check import check_file, resolve_county
from countyflow.settings import Settings

HEADER = ["县（区）代码", "托管点编码", "托管点名称", "托管点类型", "开始日期", "结束日期",
          "每日托管时长", "托管儿童数", "其中留守儿童数", "填报人"]


def site_row(index: int, **override: str) -> list[str]:
    row = {"county": "昭阳区", "code": f"ZY-{index:04d}", "name": f"第{index}托管点",
           "host": "学校", "start": "2025-07-06", "end": "2025/8/10", "hours": "5.5",
           "children": f"{900 + index}人", "left_behind": str(300 + index), "reporter": "张三",
           **override}
    return list(row.values())


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([HEADER, *rows])
    path.write_bytes(buffer.getvalue().encode("utf-8"))
    return path


def run_check(path: Path, *, dataset: str = "childcare_sites", county: str = "zhaoyang",
              period: str = "2025-summer", report: Path | None = None,
              settings: Settings | None = None) -> tuple[int, str]:
    console = Console(record=True, width=220)
    code = check_file(path, dataset=dataset, county=county, period=period, report_path=report,
                      settings=settings or Settings(), console=console)
    return code, console.export_text()


@pytest.fixture
def good_file(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "昭阳区托管点.csv", [site_row(1), site_row(2)])


@pytest.fixture
def bad_file(tmp_path: Path) -> Path:
    rows = [site_row(1), site_row(2, children="2000多人", hours="4"),
            site_row(3, code="=HYPERLINK(1)")]
    return write_csv(tmp_path / "bad.csv", rows)


def test_clean_file_exits_0(good_file: Path) -> None:
    code, out = run_check(good_file)
    assert code == 0
    assert "accepted" in out and "状态" in out and "rows in: 2" in out
    assert "张三" not in out


def test_file_with_errors_exits_1_and_lists_them(bad_file: Path) -> None:
    code, out = run_check(bad_file)
    assert code == 1
    assert "rejected" in out and "count_approximate" in out and "2000多人" in out
    assert "hours_below_policy" in out and "site_code_format" in out
    assert "errors: 2" in out and "warnings: 1" in out


def test_warnings_only_exit_0(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "w.csv", [site_row(1, hours="4")])
    code, out = run_check(path)
    assert code == 0 and "accepted_with_warnings" in out


@pytest.mark.parametrize("suffix", [".json", ".html", ".xlsx"])
def test_report_is_written(bad_file: Path, tmp_path: Path, suffix: str) -> None:
    report = tmp_path / "reports" / f"report{suffix}"
    code, _ = run_check(bad_file, report=report)
    assert code == 1 and report.exists()
    if suffix == ".json":
        data = json.loads(report.read_text(encoding="utf-8"))
        assert data["county_code"] == "530602" and data["status"] == "rejected"
        assert data["submission_id"] and len(data["submission_id"]) == 64
        assert "'=HYPERLINK(1)" in [issue["value"] for issue in data["issues"]]
        assert "张三" not in report.read_text(encoding="utf-8")


def test_registry_rules_are_skipped_and_nothing_is_held(tmp_path: Path) -> None:
    path = tmp_path / "daily.csv"
    path.write_text("托管点编码,日期,到托人数\nZY-0001,7月10日,30\nZY-0002,2025-07-11,40\n",
                    encoding="utf-8")
    code, out = run_check(path, dataset="childcare_daily")
    assert code == 0
    assert "accepted" in out and "waiting" not in out


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"dataset": "childcare"}, "known datasets: childcare_daily, childcare_sites"),
    ({"county": "昆明"}, "unknown county"),
    ({"period": "2025-autumn"}, "unknown period"),
    ({"period": "2025-07"}, "summer, winter"),
])
def test_usage_problems_exit_2(good_file: Path, kwargs: dict[str, str], message: str) -> None:
    code, out = run_check(good_file, **kwargs)
    assert code == 2
    assert message in " ".join(out.split())


def test_missing_file_and_directory_exit_2(tmp_path: Path) -> None:
    code, out = run_check(tmp_path / "nope.csv")
    assert code == 2 and "file not found" in out
    code, out = run_check(tmp_path)
    assert code == 2 and "is a directory" in out


def test_unsupported_report_format_exits_2(good_file: Path, tmp_path: Path) -> None:
    code, out = run_check(good_file, report=tmp_path / "r.pdf")
    assert code == 2 and "unsupported report format" in out


def test_file_over_the_size_limit_is_rejected(good_file: Path) -> None:
    code, out = run_check(good_file, settings=Settings(max_file_bytes=10))
    assert code == 1 and "file_too_large" in out


def test_text_limit_comes_from_the_settings(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "long.csv", [site_row(1, name="托管点" * 10), site_row(2)])
    assert run_check(path)[0] == 0
    code, out = run_check(path, settings=Settings(max_text_chars=20))
    assert code == 1 and "text_too_long" in out


def test_unreadable_submission_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "x.pdf"
    path.write_bytes(b"%PDF")
    code, out = run_check(path)
    assert code == 1 and "unsupported_extension" in out


def test_resolve_county() -> None:
    assert {resolve_county(text) for text in ("530626", "绥江县", "绥江", "SuiJiang")} == {"530626"}


def test_cli_entry_point(good_file: Path, bad_file: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["check", str(good_file), "--dataset", "childcare_sites",
                             "--county", "530602", "--period", "2025-summer"])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(app, ["check", str(bad_file), "--dataset", "childcare_sites",
                              "--county", "530602", "--period", "2025-summer"])
    assert bad.exit_code == 1


def test_pii_typed_into_a_code_cell_is_masked_in_the_console_and_the_report(
        tmp_path: Path) -> None:
    path = write_csv(tmp_path / "托管点.csv", [site_row(1, code="填报人张三13812345678"),
                                             site_row(2, children="约 139-1234-5678")])
    for suffix in (".json", ".html", ".xlsx"):
        report = tmp_path / f"report{suffix}"
        code, out = run_check(path, report=report)
        assert code == 1 and "填报人**138****5678" in out
        assert "13812345678" not in out and "1391234" not in out and "张三" not in out
        if suffix != ".xlsx":
            text = report.read_text(encoding="utf-8")
            assert "138****5678" in text and "13812345678" not in text and "张三" not in text


def test_the_cap_setting_reaches_the_report(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "托管点.csv", [site_row(n, hours="abc") for n in range(1, 31)])
    report = tmp_path / "report.json"
    code, out = run_check(path, report=report, settings=Settings(max_issue_rows_per_rule=5))
    assert code == 1 and "(30)" in out
    data = json.loads(report.read_text(encoding="utf-8"))
    hours = [issue for issue in data["issues"] if issue["column"] == "hours_per_day"]
    assert len(hours) == 6 and hours[-1]["message_en"] == "and 25 more rows not listed (rows 7–31)"
    assert data["counts"]["errors"] == 30


def test_the_cap_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().max_issue_rows_per_rule == 1000
    monkeypatch.setenv("COUNTYFLOW_MAX_ISSUE_ROWS_PER_RULE", "50")
    assert Settings().max_issue_rows_per_rule == 50


@pytest.mark.parametrize(("name", "shown"), [
    ("昭阳区托管点.csv".encode("gbk"), "昭阳区托管点.csv"),  # a Windows zip tool's GBK name
    (b"\xff\xfe.csv", "\\xff\\xfe.csv"),  # neither UTF-8 nor GB18030
])
def test_a_file_name_that_is_not_utf8_is_shown_decoded_or_escaped(
        tmp_path: Path, name: bytes, shown: str) -> None:
    """Such a name made writing the report fail (`surrogates not allowed`, issue 11 §4)."""
    import os

    good = write_csv(tmp_path / "good.csv", [site_row(1)])
    path = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), name)))
    good.rename(path)
    report = tmp_path / "report.json"
    code, out = run_check(path, report=report)
    assert code == 0 and shown in out
    assert json.loads(report.read_text(encoding="utf-8"))["file_name"] == shown
