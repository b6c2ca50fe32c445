"""Bodies of the `countyflow` CLI commands; `countyflow.cli` only parses flags and delegates."""
