"""Ingest: discover, read, normalise and validate county submissions (pure functions + file edges)."""
