"""Runs shared in PostGIS: write a run's outputs to tables, list and compare stored runs.

Layer 7 of urlink (see ``docs/architecture.md``).
"""
