"""The XLSX path alone: read and validate every `.xlsx` of a landing zone, file by file.

`uv run python -m benchmarks.xlsx_read LANDING [--repeat N]` — what `stage_bytes` does to a
spreadsheet before the warehouse (read the workbook, find the sheet and header, classify the
rows, normalise, validate), without lookups, reports or a database, so that one change to
the reader is measured on its own. Prints files, data rows and seconds per file; time it as
a whole process, A against B, on the same landing zone.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.xlsx_read")
    parser.add_argument("landing", type=Path)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)

    from countyflow.ingest.model import SubmissionRejected
    from countyflow.ingest.read import read_submission
    from countyflow.ingest.validate import validate_submission
    from countyflow.periods import parse_period
    from schemas import CONTRACTS

    files = sorted(args.landing.rglob("*.xlsx"))
    rows = 0
    begin = time.perf_counter()
    for _ in range(args.repeat):
        for path in files:
            county, dataset, period = path.relative_to(args.landing).parts[:3]
            contract = CONTRACTS[dataset]
            try:
                parsed = read_submission(path.read_bytes(), extension="xlsx", contract=contract,
                                         expected={"county_code": county, "dataset": dataset,
                                                   "period": period},
                                         max_cells=5_000_000, max_columns=500)
            except SubmissionRejected:
                continue
            result = validate_submission(parsed, contract, county_code=county,
                                         period=parse_period(period), hold_missing=False)
            rows += result.counts.rows_in
    seconds = time.perf_counter() - begin
    count = len(files) * args.repeat
    print(f"{count} files, {rows} rows, {seconds:.2f} s, {1000 * seconds / max(count, 1):.1f} ms/file")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
