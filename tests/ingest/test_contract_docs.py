"""docs/datasets.md is generated from the contracts and must not go stale."""

from __future__ import annotations

from countyflow.contract_docs import DOCS_PATH, REGENERATE, render_contract_docs
from schemas import CONTRACTS
from schemas.contract import COMMON_RULES


def test_docs_are_up_to_date() -> None:
    committed = DOCS_PATH.read_text(encoding="utf-8") if DOCS_PATH.exists() else ""
    assert committed == render_contract_docs(), (
        f"{DOCS_PATH} is stale; regenerate it with `{REGENERATE}`"
    )


def test_docs_cover_every_dataset_column_and_rule() -> None:
    text = render_contract_docs()
    for contract in CONTRACTS.values():
        assert f"`{contract.dataset}` — {contract.title_zh} / {contract.title_en}" in text
        for column in contract.columns:
            assert f"| `{column.name}` |" in text and column.label_zh in text
        for rule in contract.rules:
            assert f"| `{rule.id}` | {rule.severity.value} |" in text
            assert rule.message_zh in text and rule.message_en in text
            assert f"| {rule.fix_zh} | {rule.fix_en} |" in text
    for rule, rule_text in COMMON_RULES.items():
        assert f"| `{rule}` | {rule_text.severity.value} | {rule_text.message_zh} |" in text
        assert f"| {rule_text.fix_zh} | {rule_text.fix_en} |" in text


def test_every_rule_says_how_to_fix_it() -> None:
    """The clerk report prints a 怎么改 line next to every issue: no rule may lack one."""
    missing = [rule for rule, text in COMMON_RULES.items() if not (text.fix_zh and text.fix_en)]
    missing += [f"{contract.dataset}.{rule.id}" for contract in CONTRACTS.values()
                for rule in contract.rules if not (rule.fix_zh.strip() and rule.fix_en.strip())]
    assert missing == [], f"rules without fix_zh/fix_en: {missing}"
