"""warehouse.ledger: the reads of the submission ledger and its own helpers (what
record_submission writes through it is tested in test_load.py)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from tests.warehouse import builders as b
from warehouse.ledger import has_accepted, processed_statuses, redact_url
from warehouse.load import record_submission

SUMMER = "2025-summer"


def test_processed_statuses_of_many_ids(warehouse_engine: Engine) -> None:
    rejected = b.ref("childcare_sites", SUMMER, name="bad.csv")
    record_submission(warehouse_engine, rejected, b.rejected(2), None)
    accepted, _ = b.load(warehouse_engine, "childcare_sites", SUMMER, [b.site("ZY-001")],
                         name="good.csv")
    unknown = [f"{n:064x}" for n in range(2500)]  # three chunks of the IN list
    ids = [*unknown[:1200], accepted.submission_id, *unknown[1200:], rejected.submission_id,
           accepted.submission_id]
    assert processed_statuses(warehouse_engine, ids) == {
        accepted.submission_id: "accepted", rejected.submission_id: "rejected"}
    assert processed_statuses(warehouse_engine, []) == {}


def test_has_accepted_names_the_partitions_with_loaded_facts(warehouse_engine: Engine) -> None:
    record_submission(warehouse_engine, b.ref("childcare_sites", "2025-winter"), b.rejected(1),
                      None)
    b.load(warehouse_engine, "childcare_sites", SUMMER, [b.site("ZY-001")])
    with warehouse_engine.connect() as conn:
        def accepted(period: str, county: str = b.ZHAOYANG) -> bool:
            return has_accepted(conn, county_code=county, dataset="childcare_sites", period=period)

        assert accepted(SUMMER)
        assert not accepted("2025-winter")  # only a rejected file
        assert not accepted(SUMMER, county=b.SUIJIANG)


def test_redact_url() -> None:
    assert redact_url("sftp://clerk:s3cret@host/landing/a.csv") == "sftp://clerk:***@host/landing/a.csv"
    assert redact_url("s3://bucket/landing/a.csv") == "s3://bucket/landing/a.csv"
    assert redact_url("/data/landing/530602/x.csv") == "/data/landing/530602/x.csv"
