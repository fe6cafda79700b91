"""Benchmark harness (``python manage.py bench``): data, timings, memory, report.

Measured in a benchmark, never in timed tests. See BENCHMARKS.md for the method and results.
"""
