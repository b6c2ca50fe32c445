"""Rendering details not covered by the landing-zone tests of test_generate.py."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest

from countyflow.demo import render
from countyflow.demo.render import FileStyle, FileText, _json, _json_default


@pytest.mark.parametrize("variant", ["json-list", "json-records"])
@pytest.mark.parametrize("batch", [1, 7, 1 << 20])
def test_json_in_batches_is_byte_for_byte_json_dumps(monkeypatch: pytest.MonkeyPatch, variant: str,
                                                     batch: int) -> None:
    raw = pl.DataFrame({"托管点编码": ["530627-S00001", "530627-S00002", None],
                        "日期": [date(2025, 7, 6), date(2025, 7, 7), None],
                        "到托儿童数": ["１２人", "1,234", "无"], "供餐人次": [5, None, 7]})
    text = FileText("标题", "填报单位", "530627", "childcare_daily", "2025-summer")
    records = raw.to_dicts()
    payload: object = records if variant == "json-list" else {
        "county_code": "530627", "dataset": "childcare_daily", "period": "2025-summer", "records": records}
    expected = (json.dumps(payload, ensure_ascii=False, indent=1, default=_json_default) + "\n").encode()
    monkeypatch.setattr(render, "_JSON_BATCH", batch)
    assert _json(raw, FileStyle(variant), text) == expected  # type: ignore[arg-type]
