"""The hot paths are compiled in the normal build and pure Python under ASYNCQLIO_NO_EXTENSIONS."""
import importlib.machinery
import os

import asyncqlio._speedups as speedups

NO_EXT = bool(os.environ.get("ASYNCQLIO_NO_EXTENSIONS"))


def test_mode_matches_environment():
    assert speedups.DISABLED is NO_EXT
    assert speedups.COMPILED is (not NO_EXT)


def test_every_module_in_the_mode_asked_for():
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    for module in (speedups._row, speedups._compile):
        name = module.__name__.rsplit(".", 1)[1]
        assert module._is_compiled() is (not NO_EXT), name
        assert module.__file__.endswith(suffixes) is (not NO_EXT), module.__file__
        assert speedups.MODULES_COMPILED[name] is (not NO_EXT)


def test_every_cython_source_is_loaded():
    sources = {f[:-3] for f in os.listdir(os.path.dirname(speedups.__file__))
               if f.startswith("_") and f.endswith("_cy.py")}
    assert sources == set(speedups.MODULES_COMPILED)
