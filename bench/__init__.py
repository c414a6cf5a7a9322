"""Benchmarks: asyncqlio against the raw drivers, SQLAlchemy 2.x and Tortoise ORM.

``python -m bench`` (or ``python bench/compare.py``) runs the comparison;
``pytest bench/test_micro.py --benchmark-only`` runs the micro-benchmarks of the hot paths.
"""
