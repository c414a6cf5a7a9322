"""Stand-in for the ``cython`` module when the sources run uncompiled and Cython is absent.

The ``_*_cy.py`` modules do ``import cython`` (which the compiler needs to see) and fall back
to this; it supplies the few names they use with their pure-Python meaning.
"""
compiled = False

int = int
bint = bool
Py_ssize_t = int
ulonglong = int
double = float
char = int
p_char = bytes
size_t = int
p_void = object
NULL = None


def _identity(fn=None, **_kw):
    return fn if fn is not None else _identity


cclass = final = inline = cfunc = ccall = locals = returns = exceptval = _identity


def cdivision(_flag):
    return _identity


freelist = cdivision


def declare(t=None, value=None, **_kw):
    return value


def pointer(t):
    return t


def cast(_t, value, **_kw):
    return value
