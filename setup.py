"""Builds the Cython extension modules in asyncqlio/_speedups.

Every ``_*_cy.py`` there is a Cython pure-Python-mode source: compiled here, and importable
as plain Python when the extensions are skipped (ASYNCQLIO_NO_EXTENSIONS=1 at build or run time).
"""
import os
from pathlib import Path

from setuptools import setup

SPEEDUPS = Path("asyncqlio") / "_speedups"


def extensions():
    if os.environ.get("ASYNCQLIO_NO_EXTENSIONS"):
        return []
    from Cython.Build import cythonize

    sources = sorted(str(p) for p in SPEEDUPS.glob("_*_cy.py"))
    return cythonize(
        sources,
        compiler_directives={
            "language_level": "3",
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "infer_types": True,
        },
        annotate=bool(os.environ.get("ASYNCQLIO_ANNOTATE")),
    )


setup(ext_modules=extensions())
