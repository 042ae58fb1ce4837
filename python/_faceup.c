/*
 * _faceup.c - the CPython extension under the `faceup` package: one Python type over one
 * faceup handle, and nothing else. Everything Pythonic (input types, results, errors,
 * the handle per thread) lives in faceup/__init__.py; this file only moves bytes and pixels
 * into the public API of include/faceup.h and the answers back out.
 *
 * Written against the stable ABI of CPython 3.11 (Py_LIMITED_API), so one wheel (cp311-abi3)
 * serves every later CPython. The library is linked in statically.
 *
 * Why it is safe to release the GIL: each call works on one handle, and the handle is never
 * used by two threads at once. `busy` is set and tested while holding the GIL, so a second
 * thread that reaches the same Handle while the first is inside faceup gets BusyError instead
 * of a data race. The input stays alive and unresized while the GIL is released because we
 * hold a Py_buffer on it (bytearray and numpy refuse to resize an exported buffer).
 *
 * Results travel as the library's own JSON (faceup_result_json), so `Result.to_dict()` is the
 * line `faceup detect --json` prints, by construction; parsing ~1 kB of JSON costs
 * microseconds against milliseconds of detection.
 */
#define Py_LIMITED_API 0x030B0000
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "faceup.h"

/* The exception classes, handed over by faceup/__init__.py (_register_errors): index
 * -status for the library's codes, ERR_BUSY for a handle used by two threads at once. */
enum { ERR_BUSY = 9, N_ERRORS = 10 };
static PyObject *error_class[N_ERRORS];

static PyObject *raise_status(int status, const char *message)
{
    int i = status < 0 && -status < N_ERRORS ? -status : -FACEUP_ERR_INTERNAL;
    PyObject *cls = error_class[i] ? error_class[i] : PyExc_RuntimeError;
    PyObject *msg = PyUnicode_DecodeUTF8(message, (Py_ssize_t)strlen(message), "replace");
    if (msg) {
        PyObject *args = Py_BuildValue("(Oi)", msg, status);
        if (args) {
            PyErr_SetObject(cls, args);
            Py_DECREF(args);
        }
        Py_DECREF(msg);
    }
    return NULL;
}

/* A JSON string from the library (owned, freed here) as a str; NULL when it is NULL. */
static PyObject *json_str(char *json)
{
    if (!json)
        return PyErr_NoMemory();
    PyObject *s = PyUnicode_DecodeUTF8(json, (Py_ssize_t)strlen(json), "surrogateescape");
    free(json);
    return s;
}

/* (json, confidence) of a result: the JSON the CLI prints, and the confidence unrounded, for
 * comparisons with min_confidence that agree with the library's own. */
static PyObject *answer(const faceup_result *r, const char *file)
{
    PyObject *json = json_str(faceup_result_json(r, file, NULL));
    if (!json)
        return NULL;
    PyObject *out = Py_BuildValue("(Od)", json, (double)r->confidence);
    Py_DECREF(json);
    return out;
}

/* `file` as given to a method: None, or bytes (os.fsencode of a path) without NUL. */
static int file_arg(PyObject *file, const char **out)
{
    *out = NULL;
    if (file == Py_None)
        return 0;
    if (!PyBytes_Check(file)) {
        PyErr_SetString(PyExc_TypeError, "file must be bytes or None");
        return -1;
    }
    const char *s = PyBytes_AsString(file);
    if (!s)
        return -1;
    if ((Py_ssize_t)strlen(s) != PyBytes_Size(file)) {
        PyErr_SetString(PyExc_ValueError, "file contains a NUL byte");
        return -1;
    }
    *out = s;
    return 0;
}

/* ---- Handle --------------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    faceup *h;
    int busy;
} Handle;

static PyObject *handle_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    if (PyTuple_Size(args) != 0 || (kwds && PyDict_Size(kwds) != 0)) {
        PyErr_SetString(PyExc_TypeError, "Handle() takes no arguments");
        return NULL;
    }
    allocfunc alloc = (allocfunc)PyType_GetSlot(type, Py_tp_alloc);
    Handle *self = (Handle *)alloc(type, 0);
    if (!self)
        return NULL;
    self->h = faceup_create();
    if (!self->h) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    return (PyObject *)self;
}

static void handle_dealloc(PyObject *obj)
{
    Handle *self = (Handle *)obj;
    PyTypeObject *type = Py_TYPE(obj);
    faceup_destroy(self->h);
    self->h = NULL;
    freefunc tp_free = (freefunc)PyType_GetSlot(type, Py_tp_free);
    tp_free(obj);
    Py_DECREF(type);
}

/* Take the handle for one call; 0 when another thread holds it (BusyError raised). */
static int acquire(Handle *self)
{
    if (self->busy) {
        raise_status(-ERR_BUSY, "this Detector is in use by another thread: use one Detector per "
                                "thread (the module functions keep one per thread for you)");
        return 0;
    }
    self->busy = 1;
    return 1;
}

static PyObject *handle_set_param(PyObject *obj, PyObject *args)
{
    Handle *self = (Handle *)obj;
    int param;
    double value;
    if (!PyArg_ParseTuple(args, "id:set_param", &param, &value))
        return NULL;
    if (!acquire(self))
        return NULL;
    int rc = faceup_set_param(self->h, (faceup_param)param, value);
    self->busy = 0;
    if (rc != FACEUP_OK)
        return raise_status(rc, faceup_errmsg(self->h));
    Py_RETURN_NONE;
}

static PyObject *handle_get_param(PyObject *obj, PyObject *args)
{
    Handle *self = (Handle *)obj;
    int param;
    if (!PyArg_ParseTuple(args, "i:get_param", &param))
        return NULL;
    return PyFloat_FromDouble(faceup_get_param(self->h, (faceup_param)param));
}

/* detect(data, file=None) -> (json, confidence): an encoded image (any contiguous buffer). */
static PyObject *handle_detect(PyObject *obj, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"data", "file", NULL};
    Handle *self = (Handle *)obj;
    PyObject *data, *file = Py_None;
    const char *name;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O:detect", kwlist, &data, &file) ||
        file_arg(file, &name) < 0)
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    if (!acquire(self)) {
        PyBuffer_Release(&view);
        return NULL;
    }
    faceup_result *r = NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = faceup_detect(self->h, view.buf, (size_t)view.len, &r);
    Py_END_ALLOW_THREADS
    self->busy = 0;
    PyBuffer_Release(&view);
    if (rc != FACEUP_OK)
        return raise_status(rc, faceup_errmsg(self->h));
    PyObject *out = answer(r, name);
    faceup_result_free(r);
    return out;
}

static const int channels[] = {3, 3, 4, 4, 1}; /* by faceup_pixel_format */

/* detect_pixels(array, format, file=None) -> (json, confidence): raw 8-bit pixels, any strides. Rows the
 * library can read as they are (pixels packed within a row, rows at a positive stride) are
 * passed as they are; anything else (a column slice, a flip, a channel view) is copied into
 * packed rows first, with the GIL released. */
static PyObject *handle_detect_pixels(PyObject *obj, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"array", "format", "file", NULL};
    Handle *self = (Handle *)obj;
    PyObject *array, *file = Py_None;
    int format;
    const char *name;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "Oi|O:detect_pixels", kwlist, &array, &format,
                                     &file) ||
        file_arg(file, &name) < 0)
        return NULL;
    if (format < FACEUP_PIXEL_RGB || format > FACEUP_PIXEL_GRAY) {
        PyErr_SetString(PyExc_ValueError, "unknown pixel format");
        return NULL;
    }
    Py_buffer v;
    if (PyObject_GetBuffer(array, &v, PyBUF_RECORDS_RO) < 0)
        return NULL;
    PyObject *out = NULL;
    uint8_t *copy = NULL;
    int ch = channels[format];
    if (v.itemsize != 1 || (v.format && strcmp(v.format, "B") && strcmp(v.format, "=B") &&
                            strcmp(v.format, "<B") && strcmp(v.format, ">B"))) {
        PyErr_SetString(PyExc_TypeError, "pixels must be unsigned 8-bit (format 'B')");
        goto done;
    }
    int ok_shape = v.ndim == 2 ? ch == 1 : v.ndim == 3 && v.shape[2] == ch;
    if (!ok_shape) {
        PyErr_Format(PyExc_ValueError, "pixels of %d dimensions do not match %d channels",
                     v.ndim, ch);
        goto done;
    }
    Py_ssize_t height = v.shape[0], width = v.shape[1];
    Py_ssize_t s0 = v.strides[0], s1 = v.strides[1], s2 = v.ndim == 3 ? v.strides[2] : 1;
    if (height > INT_MAX || width > INT_MAX / 4) {
        raise_status(FACEUP_ERR_TOO_MANY_PIXELS, "faceup_detect_pixels(): too many pixels");
        goto done;
    }
    if (!acquire(self))
        goto done;
    const uint8_t *px = v.buf;
    Py_ssize_t stride = s0;
    int packed = s1 == ch && (ch == 1 || s2 == 1) && s0 >= width * ch && s0 <= INT_MAX;
    /* Over the pixel limit: no copy. The library refuses it before reading a pixel, and says so
     * in its own words. */
    if ((double)width * (double)height > faceup_get_param(self->h, FACEUP_PARAM_MAX_PIXELS)) {
        packed = 1;
        stride = width * ch;
    }
    int rc = FACEUP_OK, copy_failed = 0;
    faceup_result *r = NULL;
    Py_BEGIN_ALLOW_THREADS
    if (!packed && width > 0 && height > 0) {
        /* sizes: width*ch <= INT_MAX and height <= INT_MAX, so their product fits size_t */
        stride = width * ch;
        copy = malloc((size_t)stride * (size_t)height);
        if (copy) {
            for (Py_ssize_t y = 0; y < height; y++) {
                const uint8_t *row = (const uint8_t *)v.buf + y * s0;
                uint8_t *o = copy + (size_t)y * (size_t)stride;
                for (Py_ssize_t x = 0; x < width; x++)
                    for (int c = 0; c < ch; c++)
                        *o++ = row[x * s1 + c * s2];
            }
        }
        px = copy;
        copy_failed = !copy;
    }
    if (!copy_failed)
        rc = faceup_detect_pixels(self->h, px, (int)width, (int)height,
                                  height > 0 && width > 0 ? (int)stride : 0,
                                  (faceup_pixel_format)format, &r);
    Py_END_ALLOW_THREADS
    self->busy = 0;
    if (copy_failed)
        raise_status(FACEUP_ERR_NOMEM, "faceup_detect_pixels(): out of memory copying the pixels");
    else if (rc != FACEUP_OK)
        raise_status(rc, faceup_errmsg(self->h));
    else
        out = answer(r, name);
    faceup_result_free(r);
done:
    free(copy);
    PyBuffer_Release(&v);
    return out;
}

/* fix(data, file=None, orientation=-1) -> (bytes, format, json, rotated, exif_transform, path,
 * confidence, dropped, reencode_refused): faceup_fix, or faceup_fix_orientation when
 * orientation >= 0 */
static PyObject *handle_fix(PyObject *obj, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"data", "file", "orientation", NULL};
    Handle *self = (Handle *)obj;
    PyObject *data, *file = Py_None;
    int orientation = -1;
    const char *name;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|Oi:fix", kwlist, &data, &file,
                                     &orientation) ||
        file_arg(file, &name) < 0)
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    if (!acquire(self)) {
        PyBuffer_Release(&view);
        return NULL;
    }
    faceup_fixed *f = NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = orientation < 0
             ? faceup_fix(self->h, view.buf, (size_t)view.len, &f)
             : faceup_fix_orientation(self->h, view.buf, (size_t)view.len, orientation, &f);
    Py_END_ALLOW_THREADS
    self->busy = 0;
    PyBuffer_Release(&view);
    if (rc != FACEUP_OK)
        return raise_status(rc, faceup_errmsg(self->h));
    PyObject *out = NULL, *bytes = NULL, *json = NULL;
    if ((bytes = PyBytes_FromStringAndSize((const char *)f->data, (Py_ssize_t)f->size)) &&
        (json = json_str(faceup_result_json(f->result, name, NULL))))
        out = Py_BuildValue("(OiOiiidIi)", bytes, (int)f->format, json, f->rotated,
                            f->exif_transform, (int)f->path, (double)f->result->confidence,
                            f->dropped, f->reencode_refused);
    Py_XDECREF(bytes);
    Py_XDECREF(json);
    faceup_fixed_free(f);
    return out;
}

static PyMethodDef handle_methods[] = {
    {"set_param", handle_set_param, METH_VARARGS, "set_param(param, value): faceup_set_param."},
    {"get_param", handle_get_param, METH_VARARGS, "get_param(param) -> float: faceup_get_param."},
    {"detect", (PyCFunction)(void (*)(void))handle_detect, METH_VARARGS | METH_KEYWORDS,
     "detect(data, file=None) -> (json, confidence): faceup_detect; json is faceup_result_json."},
    {"detect_pixels", (PyCFunction)(void (*)(void))handle_detect_pixels,
     METH_VARARGS | METH_KEYWORDS,
     "detect_pixels(array, format, file=None) -> (json, confidence): faceup_detect_pixels on a buffer of "
     "uint8 pixels, H x W (gray) or H x W x C, any strides."},
    {"fix", (PyCFunction)(void (*)(void))handle_fix, METH_VARARGS | METH_KEYWORDS,
     "fix(data, file=None, orientation=-1) -> (bytes, format, json, rotated, exif_transform, "
     "path, confidence, dropped, reencode_refused): faceup_fix, or faceup_fix_orientation when "
     "orientation >= 0."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot handle_slots[] = {
    {Py_tp_new, handle_new},
    {Py_tp_dealloc, handle_dealloc},
    {Py_tp_methods, handle_methods},
    {Py_tp_doc, "One faceup handle (use faceup.Detector). Not for two threads at once."},
    {0, NULL},
};

static PyType_Spec handle_spec = {
    .name = "faceup._faceup.Handle",
    .basicsize = sizeof(Handle),
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = handle_slots,
};

/* ---- module ----------------------------------------------------------------------------- */

static PyObject *register_errors(PyObject *module, PyObject *mapping)
{
    (void)module;
    if (!PyDict_Check(mapping)) {
        PyErr_SetString(PyExc_TypeError, "_register_errors wants a dict {status: class}");
        return NULL;
    }
    for (int i = 1; i < N_ERRORS; i++) {
        PyObject *key = PyLong_FromLong(-i);
        if (!key)
            return NULL;
        PyObject *cls = PyDict_GetItemWithError(mapping, key);
        Py_DECREF(key);
        if (!cls && PyErr_Occurred())
            return NULL;
        Py_XINCREF(cls);
        PyObject *old = error_class[i];
        error_class[i] = cls;
        Py_XDECREF(old);
    }
    Py_RETURN_NONE;
}

/* error_json(file, error) -> str: faceup_result_json(NULL, file, error), the line of an input
 * that failed. file: bytes or None; error: bytes. */
static PyObject *error_json(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *file, *error;
    const char *name, *msg;
    if (!PyArg_ParseTuple(args, "OO:error_json", &file, &error) || file_arg(file, &name) < 0 ||
        file_arg(error, &msg) < 0)
        return NULL;
    return json_str(faceup_result_json(NULL, name, msg ? msg : ""));
}

static PyMethodDef module_methods[] = {
    {"error_json", error_json, METH_VARARGS,
     "error_json(file, error) -> str: faceup_result_json(NULL, file, error)."},
    {"_register_errors", register_errors, METH_O,
     "_register_errors({status: class}): the exceptions raised for each faceup_status."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "faceup._faceup",
    .m_doc = "The C extension under faceup: use the faceup package.",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__faceup(void)
{
    PyObject *m = PyModule_Create(&module_def);
    if (!m)
        return NULL;
    PyObject *type = PyType_FromSpec(&handle_spec);
    if (!type || PyModule_AddObjectRef(m, "Handle", type) < 0 ||
        PyModule_AddStringConstant(m, "LIBRARY_VERSION", faceup_version()) < 0 ||
        PyModule_AddStringConstant(m, "MODEL_NAME", faceup_model_name()) < 0 ||
        PyModule_AddStringConstant(m, "MODEL_SHA256", faceup_model_sha256()) < 0 ||
        PyModule_AddIntConstant(m, "ERR_BUSY", -ERR_BUSY) < 0) {
        Py_XDECREF(type);
        Py_DECREF(m);
        return NULL;
    }
    Py_DECREF(type);
    return m;
}
