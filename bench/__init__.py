"""Benchmarks: figures, not pass/fail. `make bench` runs every section and prints its table."""
