"""Benchmarks: the whole path, measured against this machine's own ceilings (see BENCHMARKS.md)."""
