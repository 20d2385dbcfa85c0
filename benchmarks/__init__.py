"""Benchmarks of the PDP against its peers; run `python -m benchmarks` from the project root."""
