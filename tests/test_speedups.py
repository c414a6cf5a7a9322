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


def test_pure_path_runs_without_cython_installed():
    """A wheel user without Cython: the sources fall back to the shim and still work."""
    import subprocess
    import sys
    code = (
        "import sys; sys.modules['cython'] = None\n"
        "import asyncqlio._speedups as s\n"
        "assert not s.COMPILED\n"
        "from asyncqlio import Column, Integer, Boolean, table_base\n"
        "T = table_base()\n"
        "class A(T, table_name='a'):\n"
        "    id = Column(Integer, primary_key=True)\n"
        "    flag = Column(Boolean)\n"
        "rows = s._row.hydrate(A, [(1, 0), (2, 1)], A.__table__.loaders_for('sqlite'), None)\n"
        "assert [(r.id, r.flag) for r in rows] == [(1, False), (2, True)]\n"
        "rows[0].flag = True\n"
        "assert rows[0]._history == {1: False}\n"
        "print('ok')\n"
    )
    env = dict(os.environ, ASYNCQLIO_NO_EXTENSIONS="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
