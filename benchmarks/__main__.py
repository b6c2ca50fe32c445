"""`uv run python -m benchmarks --scale 10 --backend duckdb,postgresql [--repeat 3]`."""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
from pathlib import Path

from benchmarks.harness import BACKENDS, ORDER, markdown, run, to_json


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--scale", type=int, default=10, help="demo generator scale (rows per file ×N)")
    parser.add_argument("--backend", default=",".join(BACKENDS), help="duckdb,postgresql")
    parser.add_argument("--repeat", type=int, default=1, help="repetitions; the table shows medians")
    parser.add_argument("--counties", default="", help="only these county codes (quick runs)")
    parser.add_argument("--workloads", default=",".join(ORDER), help=f"subset of {','.join(ORDER)}")
    parser.add_argument("--workdir", type=Path, default=None, help="scratch folder (default: a temp dir)")
    parser.add_argument("--api-url", default=None, help="use this Prefect API instead of starting one")
    parser.add_argument("--output", type=Path, default=None,
                        help="write the table here (and the raw measurements next to it as .json)")
    args = parser.parse_args(argv)
    if argv is None:  # as a program: on SIGTERM still stop the Prefect server, drop the databases
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    backends = tuple(b for b in args.backend.split(",") if b)
    unknown = set(backends) - set(BACKENDS)
    if unknown:
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    command = "uv run python -m benchmarks " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    result = run(scale=args.scale, backends=backends, repeat=args.repeat,
                 counties=tuple(c for c in args.counties.split(",") if c),
                 workloads=tuple(w for w in args.workloads.split(",") if w),
                 workdir=args.workdir, api_url=args.api_url, command=command)
    table = markdown(result)
    print(table)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(f"Command: `{command}`\n\n{table}", encoding="utf-8")
        args.output.with_suffix(".json").write_text(to_json(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
