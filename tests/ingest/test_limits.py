"""Limits on what is stored and shown of issues: PII masking, clipping, caps per rule × column."""

from __future__ import annotations

import polars as pl
import pytest

from countyflow.ingest.limits import (
    VALUE_ECHO_CHARS,
    cap_issues,
    clip_text,
    finalise_issues,
    finalise_layout,
    mask_name,
    mask_pii,
)
from countyflow.ingest.model import ReadLayout, RowCounts, SubmissionStatus, issues_frame
from countyflow.pipeline import StagedSubmission, outcome_of
from countyflow.staging import report_header
from tests.warehouse.builders import ref


def masked(text: str | None) -> str | None:
    return pl.DataFrame({"v": [text]}, schema={"v": pl.Utf8}).select(mask_pii(pl.col("v"))).item()


@pytest.mark.parametrize(("text", "expected"), [
    ("填报人张三13812345678", "填报人**138****5678"),
    ("13812345678", "138****5678"),
    ("138 1234 5678", "138****5678"),
    ("138-1234-5678", "138****5678"),
    ("+86 138-1234-5678", "+86 138****5678"),
    ("(+86)13812345678", "(+86)138****5678"),
    ("１３８１２３４５６７８", "１３８****５６７８"),
    ("电话13812345678,13912345678", "电话138****5678,139****5678"),
    ("530602199001011234", "530***********1234"),
    ("53060219900101123X", "530***********123X"),
    ("联系人李四，手机 139 1234 5678", "联系人**，手机 139****5678"),
    ("联系电话：0870-2123456", "联系电话：****"),
    ("填报人：张三", "填报人：**"),
])
def test_personal_data_in_a_value_is_masked(text: str, expected: str) -> None:
    assert masked(text) == expected
    assert masked(expected) == expected  # idempotent: masking twice changes nothing


@pytest.mark.parametrize("text", [
    "ZY-0001", "12345678901", "1381234567", "138123456789", "2025-07-14", "约100", "城南小学托管点",
    "5306020001", "—", "",
])
def test_ordinary_values_are_kept(text: str) -> None:
    assert masked(text) == text


def test_none_stays_none() -> None:
    assert masked(None) is None


def test_long_values_are_clipped_with_their_length() -> None:
    frame = pl.DataFrame({"v": ["x" * 5_000_000, "y" * 10]})
    out = frame.select(clip_text(pl.col("v"), VALUE_ECHO_CHARS))["v"].to_list()
    assert out[0] == "x" * VALUE_ECHO_CHARS + "…（共 5000000 字符 / 5000000 chars）"
    assert out[1] == "y" * 10
    again = pl.DataFrame({"v": out}).select(clip_text(pl.col("v"), VALUE_ECHO_CHARS))
    assert again["v"].to_list() == out  # a clipped text keeps its note


def test_finalised_issues_mask_every_text_but_keep_contract_column_names() -> None:
    issues = issues_frame([{
        "source_row": 5, "column": "site_code", "value": "填报人张三13812345678" + "z" * 500,
        "rule": "site_code_format", "severity": "error",
        "message_zh": "重复：13812345678", "message_en": "repeated: 13812345678",
    }, {
        "source_row": None, "column": "填报人姓名", "value": None, "rule": "unknown_column",
        "severity": "warning", "message_zh": "未识别的列", "message_en": "unknown column",
    }])
    out = finalise_issues(issues)
    value = out["value"][0]
    assert value.startswith("填报人**138****5678zz") and "13812345678" not in value
    assert value.endswith(f"…（共 {len('填报人**138****5678') + 500} 字符 / "
                          f"{len('填报人**138****5678') + 500} chars）")
    assert out["message_zh"][0] == "重复：138****5678"
    assert out["message_en"][0] == "repeated: 138****5678"
    assert out["column"].to_list() == ["site_code", "填报人姓名"]


def test_preview_cells_are_masked_and_clipped() -> None:
    layout = ReadLayout(
        sheets=("Sheet1",), preview_header=("托管点编码", "托管点名称"),
        preview_rows=(("6", "ZY-0001", "联系人张三 13812345678"), ("7", "w" * 1000)),
    )
    out = finalise_layout(layout)
    assert out is not None and out.sheets == ("Sheet1",)
    assert out.preview_header == ("托管点编码", "托管点名称")
    assert out.preview_rows[0] == ("6", "ZY-0001", "联系人** 138****5678")
    assert len(out.preview_rows[1]) == 2
    assert out.preview_rows[1][1].startswith("w" * VALUE_ECHO_CHARS + "…（共 1000 字符")
    assert finalise_layout(None) is None


def _issues(rows: int, columns: tuple[str, ...] = ("a", "b")) -> pl.DataFrame:
    return pl.DataFrame({
        "source_row": [row for row in range(2, rows + 2) for _ in columns],
        "column": [column for _ in range(rows) for column in columns],
        "value": [f"v{row}" for row in range(rows) for _ in columns],
        "rule": "count_approximate", "severity": "error",
        "message_zh": "数量须为确数", "message_en": "counts must be exact",
    })


def test_caps_keep_the_first_rows_of_each_rule_and_column_and_count_the_rest() -> None:
    capped = cap_issues(_issues(10), 3)
    assert capped.height == 2 * 3 + 2
    kept = capped.filter(pl.col("source_row").is_not_null())
    assert kept.select("source_row", "column").rows() == [
        (2, "a"), (2, "b"), (3, "a"), (3, "b"), (4, "a"), (4, "b")]
    summary = capped.filter(pl.col("source_row").is_null())
    assert summary.select("column", "value", "rule", "severity").rows() == [
        ("a", "7", "count_approximate", "error"), ("b", "7", "count_approximate", "error")]
    assert summary["message_en"].to_list() == ["and 7 more rows not listed (rows 5–11)"] * 2
    assert summary["message_zh"].to_list() == ["另有 7 处同类问题未逐条列出（第 5–11 行）"] * 2
    # each summary stands where its first omitted issue stood: after the kept ones
    assert capped["source_row"].to_list()[-2:] == [None, None]


def test_caps_leave_small_frames_alone() -> None:
    issues = _issues(3)
    assert cap_issues(issues, 3).equals(issues)
    assert cap_issues(issues, None).equals(issues)
    assert cap_issues(issues.head(0), 1).height == 0


def test_capping_400k_issues_is_bounded_and_exact() -> None:
    issues = _issues(400_000, ("a", "b", "c", "d"))
    capped = cap_issues(issues, 1000)
    assert capped.height == 4 * 1001
    more = capped.filter(pl.col("source_row").is_null())["value"].cast(pl.Int64)
    kept = capped.filter(pl.col("source_row").is_not_null()).height
    assert kept + int(more.sum()) == issues.height


@pytest.mark.parametrize(("name", "shown"), [
    ("托管点_张三13812345678.xlsx", "托管点_张三138****5678.xlsx"),
    ("530602/childcare_sites/2025-summer/含联系电话列.csv",
     "530602/childcare_sites/2025-summer/含联系电话列.csv"),  # a label in a name is a word
    ("身份证530602199001011234.json", "身份证530***********1234.json"),
    ("530602/childcare_sites/2025-summer/2025年7月 基本情况.xlsx",
     "530602/childcare_sites/2025-summer/2025年7月 基本情况.xlsx"),  # nothing personal
])
def test_numbers_in_file_names_are_masked(name: str, shown: str) -> None:
    assert mask_name(name) == shown
    assert mask_name(shown) == shown  # idempotent


def test_reports_and_outcomes_show_masked_file_names() -> None:
    submission = ref("childcare_sites", "2025-summer", name="托管点_张三13812345678.csv")
    header = report_header(submission)
    assert header["file_name"] == "托管点_张三138****5678.csv"
    assert "13812345678" not in str(header)
    staged = StagedSubmission(ref=submission, status=SubmissionStatus.ACCEPTED,
                              counts=RowCounts(1, 1, 0, 0, errors=0, warnings=0),
                              facts_path=None, issues_path="unused", report_path=None)
    assert outcome_of(staged, "accepted").file_name == "托管点_张三138****5678.csv"
