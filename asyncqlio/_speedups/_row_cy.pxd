# C declarations the pure-Python-mode source _row_cy.py uses when compiled.

from cpython.object cimport PyObject

cdef extern from "Python.h":
    # the slots of a model class that its C constructor (``_construct``) reads and sets
    ctypedef struct TypeSlots "PyTypeObject":
        void *tp_vectorcall
        void *tp_init
        void *tp_new
    Py_ssize_t PyVectorcall_NARGS(size_t nargsf)
    void PyObject_GC_UnTrack(object op)
    bint PyObject_IS_GC(object op)
    bint PyObject_GC_IsTracked(object op)
    Py_ssize_t PySequence_Size(object o) except -1
    object PySequence_GetItem(object o, Py_ssize_t i)
    int PyGC_Enable()
    int PyGC_Disable()
