"""Benchmarks: ``python -m benchmarks [NAME...]`` runs every ``bench_*.py`` module.

Each module exposes ``run() -> list[dict]``; a row has the keys ``name``, ``value``,
``unit``, ``baseline`` (the same figure measured the naive way in the same run, or
None), ``ratio`` (``value / baseline``, or None), ``target`` (text such as
"<= 100 ms", or None) and ``note``; an optional ``ok`` (bool) says whether the
target was met. Timings are measured, never asserted in tests: they depend on the
machine.
"""
