# C declarations the pure-Python-mode source _row_cy.py uses when compiled.

cdef extern from "Python.h":
    void PyObject_GC_UnTrack(object op)
    int PyGC_Enable()
    int PyGC_Disable()
