"""B3: dlt, the tool a data engineer would pick instead of writing a pipeline.

The same canonical CSVs as B0 (converted outside the clock), one dlt resource per
dataset yielding one Arrow table per file, every column as text as B0 loads it (Arrow's
type inference cannot be used: the counties' values differ from file to file — a date
as text in one, an Excel serial number in the next — and dlt then refuses to concatenate
the tables), county and period from the file's landing path, as countyflow derives them,
loaded into DuckDB or PostgreSQL in one `pipeline.run`:

- `merge` (B3): `write_disposition="merge"` on the dataset's natural key — county,
  period and the contract's key — so a corrected file replaces the rows it corrects;
- `append` (B3a): every row appended.

What dlt does not do here, and countyflow does: contract validation (types, ranges,
codes, registries), rejected and held submissions with clerk reports, the row-level
issue audit, SCD2 dimensions and the star schema, supersession by partition (a merge
replaces rows by key, it does not remove the rows a corrected file no longer has), the
submission ledger, the quality gate and the marts.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

# dlt reports usage to its makers unless told not to; this machine has no internet anyway.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("DLT_DATA_DIR", os.environ.get("COUNTYFLOW_BENCH_DLT_HOME", "/tmp/countyflow-dlt"))


def natural_key(dataset: str) -> tuple[str, ...]:
    """County, period and the contract's key (without a second county)."""
    from schemas import CONTRACTS

    key = [column for column in CONTRACTS[dataset].key if column not in ("county_code", "period")]
    return ("county_code", "period", *key)


def _tables(paths: Sequence[str], partitions: Mapping[str, Sequence[str]]) -> Iterator[Any]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    for path in paths:
        with open(path, encoding="utf-8") as handle:
            header = next(csv.reader(handle), [])
        as_text = pacsv.ConvertOptions(column_types=dict.fromkeys(header, pa.string()))
        table = pacsv.read_csv(path, convert_options=as_text)
        county, period = partitions[path]
        if "county_code" in table.column_names:  # as written (a name, a code…): the path decides
            table = table.drop_columns(["county_code"])
        table = table.append_column("county_code", pa.array([county] * table.num_rows, pa.string()))
        yield table.append_column("period", pa.array([period] * table.num_rows, pa.string()))


def load_with_dlt(manifest: Mapping[str, Any], *, backend: str, url: str, mode: str,
                  pipelines_dir: Path) -> int:
    """Load every dataset of the B0 manifest with dlt; the rows now in the destination."""
    import dlt

    partitions = manifest["partitions"]
    resources = []
    for dataset, paths in manifest["files"].items():
        options: dict[str, Any] = {"name": dataset, "write_disposition": mode}
        if mode == "merge":
            options["primary_key"] = list(natural_key(dataset))
        resources.append(dlt.resource(_tables(paths, partitions), **options))
    if backend == "duckdb":
        destination = dlt.destinations.duckdb(url.removeprefix("duckdb:///"))
    else:
        from sqlalchemy.engine import make_url

        target = make_url(url).set(drivername="postgresql")
        # dlt refuses PostgreSQL credentials without a password; a server on trust or peer
        # authentication (the benchmark machine's) never asks for it, so any word will do.
        if target.password is None:
            target = target.set(password="unused-by-trust-auth")
        destination = dlt.destinations.postgres(target.render_as_string(hide_password=False))
    pipeline = dlt.pipeline(pipeline_name=f"b3_{mode}", destination=destination,
                            dataset_name="b3", pipelines_dir=str(pipelines_dir))
    pipeline.run(resources)
    with pipeline.sql_client() as client:
        return sum(int(client.execute_sql(f"SELECT count(*) FROM {client.make_qualified_table_name(name)}")[0][0])
                   for name in manifest["files"])
