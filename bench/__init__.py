"""Benchmarks for the capabilities with a performance goal; each runs as ``python -m bench.X``."""
