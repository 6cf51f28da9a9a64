/*
 * Furness balancing (IPF) of a dense matrix, for urlink.model.flows.people.
 *
 * furness(k, production, attraction, a, b, max_iter, tol) -> (iterations, err)
 *
 *   k           float64[N*M]  the scaled deterrence matrix, row by row: finite, >= 0 (zero
 *                             where no trips)
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
 *
 * Speed (#16: a 29 x 29 matrix balanced in 500-7,000 iterations, thousands of times):
 *
 * - Each sum (k b)_i and (k^T a)_j is still added term by term in the order of j (of i),
 *   one chain per sum, so the numbers are those of the plain loops. What changes is how
 *   the chains are interleaved: BLOCK sums at a time, each term of one step of the BLOCK
 *   chains read from contiguous memory (k^T for k b, k for k^T a), so the compiler keeps the
 *   BLOCK sums in vector registers and the additions of a step run in parallel. Summing a
 *   row of k at a time instead waits for each addition to finish before the next (the
 *   latency of an addition, about 4 cycles, per term). k^T is a copy (zero rows pad it to
 *   a multiple of BLOCK); the columns of the last, partial block of k are copied, padded,
 *   too. A k larger than BLOCKED_MAX_ITEMS is summed row by row, as before, and not
 *   copied (see there).
 * - Terms with a zero factor a_i (b_j by blocks) are skipped: k is finite, so they add +0
 *   and change nothing.
 * - The relative row errors are first bounded with a multiplication by 1 / O_i instead of
 *   a division: if the bound exceeds tol by far more than its rounding error (1e-12
 *   relative), the iteration has not converged and no error is computed exactly. Otherwise
 *   (and at the last iteration) the exact errors are computed as in the plain loop, the
 *   columns' only when the rows are within tol (err is their maximum either way).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdlib.h>

/*
 * With GCC on x86-64 Linux (glibc), the functions below are compiled twice, for any x86-64
 * CPU (SSE2, 2 doubles per instruction) and for CPUs with AVX (4 doubles), and the dynamic
 * loader picks the version for the CPU at hand (target_clones, an ifunc): the same
 * operations in the same order, so the same numbers, without building for one CPU
 * (-march). AVX does not include FMA, so no multiplication and addition are fused.
 * Other compilers and platforms build the plain version.
 */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    defined(__GLIBC__)
#define CLONED __attribute__((target_clones("avx", "default")))
#else
#define CLONED
#endif

#if defined(_MSC_VER) && !defined(__clang__)
#define restrict __restrict
#endif

#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

/* sums computed together: 8 AVX registers of accumulators (16 SSE2 registers, some spill) */
#define BLOCK 32

/*
 * out[t] = sum over j < count, in order of j, of x[j * stride + t] * c[j], for t < BLOCK
 * (terms with c[j] == 0 left out: they add +0).
 */
static inline void block_sums(const double *x, Py_ssize_t stride, Py_ssize_t count,
                              const double *c, double *out)
{
    double acc[BLOCK];
    for (int t = 0; t < BLOCK; t++) acc[t] = 0.0;
    for (Py_ssize_t j = 0; j < count; j++) {
        const double cj = c[j];
        if (cj == 0.0) continue;
        const double *xj = x + j * stride;
        for (int t = 0; t < BLOCK; t++) acc[t] += xj[t] * cj;
    }
    for (int t = 0; t < BLOCK; t++) out[t] = acc[t];
}

/* block_sums of the columns 0..width-1 of x (width a multiple of BLOCK), into out. */
static inline void sums_by_blocks(const double *x, Py_ssize_t stride, Py_ssize_t count,
                                  Py_ssize_t width, const double *c, double *out)
{
    for (Py_ssize_t t0 = 0; t0 < width; t0 += BLOCK)
        block_sums(x + t0, stride, count, c, out + t0);
}

/*
 * Up to this many elements (4 MB: some 700 x 700 zones) k is summed by blocks. A larger k
 * no longer stays in the caches between the products, and then reading k^T BLOCK elements
 * a row at a time is slower than reading k row by row, so it is summed with the plain
 * loops (the same sums in the same order) and not copied.
 */
#define BLOCKED_MAX_ITEMS ((size_t)1 << 19)

/* k as the products read it: by blocks (kt != NULL) or row by row. */
typedef struct {
    const double *k;
    Py_ssize_t n, m;
    double *kt;        /* k^T (m x npad, zero rows after the n-th), or NULL */
    double *tail;      /* columns mfull.. of k (n x BLOCK, zero columns after the m-th) */
    Py_ssize_t npad;   /* n rounded up to a multiple of BLOCK */
    Py_ssize_t mfull;  /* columns of k in full blocks */
} Layout;

/* kb = k b (npad items written when by blocks). */
static inline void times_b(const Layout *L, const double *b, double *kb)
{
    if (L->kt) {
        sums_by_blocks(L->kt, L->npad, L->m, L->npad, b, kb);
        return;
    }
    for (Py_ssize_t i = 0; i < L->n; i++) {
        const double *row = L->k + i * L->m;
        double s = 0.0;
        for (Py_ssize_t j = 0; j < L->m; j++) s += row[j] * b[j];
        kb[i] = s;
    }
}

/* ka = k^T a (mfull + BLOCK items written when by blocks). */
static inline void times_a(const Layout *L, const double *a, double *ka)
{
    if (L->kt) {
        sums_by_blocks(L->k, L->m, L->n, L->mfull, a, ka);
        if (L->mfull < L->m) sums_by_blocks(L->tail, BLOCK, L->n, BLOCK, a, ka + L->mfull);
        return;
    }
    for (Py_ssize_t j = 0; j < L->m; j++) ka[j] = 0.0;
    for (Py_ssize_t i = 0; i < L->n; i++) {
        const double *row = L->k + i * L->m;
        const double ai = a[i];
        if (ai == 0.0) continue; /* adds nothing (k and a are finite) */
        for (Py_ssize_t j = 0; j < L->m; j++) ka[j] += row[j] * ai;
    }
}

/*
 * out = target / sums, 0 where sums is not > 0 (the arrays do not overlap). Every element
 * is divided (by 1 where the quotient is not wanted), so that the divisions vectorise
 * (with -fno-trapping-math: the dividing by 1 may then run in every lane). Not inlined:
 * inlined in the loop of run, its branches are merged with the others' and nothing of it
 * vectorises.
 */
CLONED static NOINLINE void factors(const double *restrict target,
                                    const double *restrict sums, Py_ssize_t len,
                                    double *restrict out)
{
    for (Py_ssize_t i = 0; i < len; i++) {
        const double s = sums[i];
        const double q = target[i] / (s > 0 ? s : 1.0);
        out[i] = s > 0 ? q : 0.0;
    }
}

/* The largest relative error |f s - t| / t over t > 0 (NaN if any is NaN), from `err`. */
static double max_error(const double *f, const double *s, const double *t, Py_ssize_t len,
                        double err)
{
    for (Py_ssize_t i = 0; i < len; i++) {
        if (t[i] > 0) {
            double e = fabs(f[i] * s[i] - t[i]) / t[i];
            if (e > err || isnan(e)) err = e;
        }
    }
    return err;
}

/* Returns the iterations used, -1 if not converged, -2 on allocation failure. */
CLONED static long run(const double *k, Py_ssize_t n, Py_ssize_t m, const double *p,
                       const double *d, double *a, double *b, long max_iter, double tol,
                       double *err_out)
{
    const int blocked = (size_t)n * (size_t)m <= BLOCKED_MAX_ITEMS;
    Layout L = {k, n, m, NULL, NULL, (n + BLOCK - 1) / BLOCK * BLOCK, m / BLOCK * BLOCK};
    const Py_ssize_t mpad = (m + BLOCK - 1) / BLOCK * BLOCK;
    /* one allocation: k b (npad), k^T a (mpad), 1 / O (n), and by blocks k^T (m x npad)
       and the last columns of k (n x BLOCK) */
    size_t len = (size_t)L.npad + mpad + n;
    if (blocked) len += (size_t)m * L.npad + (size_t)n * BLOCK;
    double *kb = calloc(len > 0 ? len : 1, sizeof(double));
    long result = -1;
    double err = INFINITY;
    if (!kb) {
        *err_out = err;
        return -2;
    }
    double *ka = kb + L.npad;
    double *inv_p = ka + mpad;
    if (blocked) {
        L.kt = inv_p + n;
        L.tail = L.kt + (size_t)m * L.npad;
        /* transposed by tiles of BLOCK x BLOCK (cache lines, not an element per line) */
        for (Py_ssize_t i0 = 0; i0 < n; i0 += BLOCK) {
            const Py_ssize_t i1 = i0 + BLOCK < n ? i0 + BLOCK : n;
            for (Py_ssize_t j0 = 0; j0 < m; j0 += BLOCK) {
                const Py_ssize_t j1 = j0 + BLOCK < m ? j0 + BLOCK : m;
                for (Py_ssize_t i = i0; i < i1; i++)
                    for (Py_ssize_t j = j0; j < j1; j++) L.kt[j * L.npad + i] = k[i * m + j];
            }
        }
        for (Py_ssize_t i = 0; i < n; i++)
            for (Py_ssize_t j = L.mfull; j < m; j++)
                L.tail[i * BLOCK + (j - L.mfull)] = k[i * m + j];
    }
    /* the bound on the row errors needs a finite 1 / O_i (not so for subnormal O_i) */
    int bound_rows = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        inv_p[i] = p[i] > 0 ? 1.0 / p[i] : 0.0;
        if (!isfinite(inv_p[i])) bound_rows = 0;
    }
    const double far_above_tol = tol * (1.0 + 1e-12);

    times_b(&L, b, kb);
    for (long iteration = 1; iteration <= max_iter; iteration++) {
        factors(p, kb, n, a);
        times_a(&L, a, ka);
        factors(d, ka, m, b);
        times_b(&L, b, kb);
        const int last = iteration == max_iter;
        if (bound_rows && !last) {
            double bound = 0.0;
            for (Py_ssize_t i = 0; i < n; i++) {
                const double e = fabs(a[i] * kb[i] - p[i]) * inv_p[i];
                bound = e > bound ? e : bound;
            }
            if (bound > far_above_tol) continue; /* so the exact error is > tol */
        }
        err = max_error(a, kb, p, n, 0.0);
        if (err <= tol || last) err = max_error(b, ka, d, m, err);
        if (err <= tol) {
            result = iteration;
            break;
        }
    }
    free(kb);
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
