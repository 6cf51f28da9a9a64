/*
 * Furness balancing (IPF) of a dense matrix, for urlink.model.flows.people.
 *
 * furness(k, production, attraction, a, b, max_iter, tol) -> (iterations, err)
 *
 *   k           float64[N*M]  the scaled deterrence matrix, row by row (zero where no trips)
 *   production  float64[N]    row targets O_i
 *   attraction  float64[M]    column targets D_j
 *   a           float64[N]    written: the row factors of the last iteration
 *   b           float64[M]    read: the starting column factors (ones for a cold start);
 *                             written: the column factors of the last iteration
 *   max_iter    int           iterations allowed
 *   tol         float         stop when the largest relative row or column error is <= tol
 *
 * The same steps as the numpy loop of urlink.model.flows.people._furness_numpy:
 *
 *   a = O / (k b)        (0 where k b = 0)
 *   b = D / (k^T a)      (0 where k^T a = 0)
 *   err = max(|a (k b) - O| / O over O > 0, |b (k^T a) - D| / D over D > 0)
 *
 * with k b of the new b computed once (it is both the row sums and the next divisor). Only
 * the order of the additions in the matrix products differs from numpy's (a few units in
 * the last place). Returns iterations = -1 if max_iter was reached without convergence
 * (err is then the last error). The GIL is released during the work.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdlib.h>

/* Returns the iterations used, -1 if not converged, -2 on allocation failure. */
static long run(const double *k, Py_ssize_t n, Py_ssize_t m, const double *p, const double *d,
                double *a, double *b, long max_iter, double tol, double *err_out)
{
    double *kb = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    double *ka = malloc(sizeof(double) * (size_t)(m > 0 ? m : 1));
    long result = -1;
    double err = INFINITY;
    if (!kb || !ka) {
        result = -2;
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        const double *row = k + i * m;
        double s = 0.0;
        for (Py_ssize_t j = 0; j < m; j++) s += row[j] * b[j];
        kb[i] = s;
    }
    for (long iteration = 1; iteration <= max_iter; iteration++) {
        for (Py_ssize_t i = 0; i < n; i++) a[i] = kb[i] > 0 ? p[i] / kb[i] : 0.0;
        for (Py_ssize_t j = 0; j < m; j++) ka[j] = 0.0;
        for (Py_ssize_t i = 0; i < n; i++) {
            const double *row = k + i * m;
            double ai = a[i];
            if (ai == 0.0) continue; /* adds nothing (k and a are finite) */
            for (Py_ssize_t j = 0; j < m; j++) ka[j] += row[j] * ai;
        }
        for (Py_ssize_t j = 0; j < m; j++) b[j] = ka[j] > 0 ? d[j] / ka[j] : 0.0;
        err = 0.0;
        for (Py_ssize_t i = 0; i < n; i++) {
            const double *row = k + i * m;
            double s = 0.0;
            for (Py_ssize_t j = 0; j < m; j++) s += row[j] * b[j];
            kb[i] = s;
            if (p[i] > 0) {
                double e = fabs(a[i] * s - p[i]) / p[i];
                if (e > err || isnan(e)) err = e;
            }
        }
        for (Py_ssize_t j = 0; j < m; j++) {
            if (d[j] > 0) {
                double e = fabs(b[j] * ka[j] - d[j]) / d[j];
                if (e > err || isnan(e)) err = e;
            }
        }
        if (err <= tol) {
            result = iteration;
            break;
        }
    }
done:
    free(kb);
    free(ka);
    *err_out = err;
    return result;
}

static int check(Py_buffer *b, Py_ssize_t len, const char *name)
{
    if (b->itemsize != 8 || b->len != len * 8) {
        PyErr_Format(PyExc_ValueError, "%s must be a contiguous float64 buffer of %zd items",
                     name, len);
        return -1;
    }
    return 0;
}

static PyObject *furness(PyObject *self, PyObject *args)
{
    Py_buffer k, p, d, a, b;
    long max_iter;
    double tol;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*y*y*w*w*ld", &k, &p, &d, &a, &b, &max_iter, &tol))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t n = p.len / 8, m = d.len / 8;
    if (check(&k, n * m, "k") || check(&p, n, "production") || check(&d, m, "attraction") ||
        check(&a, n, "a") || check(&b, m, "b"))
        goto release;
    double err = INFINITY;
    long iterations;
    Py_BEGIN_ALLOW_THREADS
    iterations = run((const double *)k.buf, n, m, (const double *)p.buf, (const double *)d.buf,
                     (double *)a.buf, (double *)b.buf, max_iter, tol, &err);
    Py_END_ALLOW_THREADS
    if (iterations == -2) {
        PyErr_NoMemory();
        goto release;
    }
    result = Py_BuildValue("ld", iterations, err);
release:
    PyBuffer_Release(&k);
    PyBuffer_Release(&p);
    PyBuffer_Release(&d);
    PyBuffer_Release(&a);
    PyBuffer_Release(&b);
    return result;
}

static PyMethodDef methods[] = {
    {"furness", furness, METH_VARARGS,
     "furness(k, production, attraction, a, b, max_iter, tol) -> (iterations, err): "
     "Furness balancing of a dense matrix (see urlink.model.flows.people)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_balance",
    "Compiled Furness balancing for urlink.model.flows.people.", -1, methods,
};

PyMODINIT_FUNC PyInit__balance(void) { return PyModule_Create(&module); }
