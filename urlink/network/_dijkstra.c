/*
 * Many-source Dijkstra on a CSR graph, for urlink.network.skims.
 *
 * many_sources(indptr, indices, weights, sources, targets, out, limit)
 *
 *   indptr   int64[N + 1]   CSR row pointers
 *   indices  int64[M]       CSR column indices (edge heads)
 *   weights  float64[M]     non-negative edge weights
 *   sources  int64[K]       start nodes
 *   targets  int64[T]       distinct nodes whose distances are wanted
 *   out      float64[K*T]   written row by row; +inf where unreachable or beyond limit
 *   limit    float          stop a search at this distance (inf for none)
 *
 * many_sources_length(indptr, indices, weights, lengths, sources, targets, out, out_len, limit)
 *
 *   the same search by ``weights``, also summing ``lengths`` (float64[M], a second weight
 *   per edge) along the path it finds: out_len gets the length of the shortest path by
 *   ``weights`` (the fastest path, for the distance its trips drive), +inf where out is.
 *   Among paths of equal weight, the first one found is kept (edges in CSR order), as for
 *   the predecessor of a node.
 *
 * A binary heap with lazy deletion; each search stops as soon as every target is settled
 * or the limit is passed. The GIL is released during the work, so Python threads can run
 * several calls at once on different source chunks.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double d;
    int64_t v;
} item_t;

static void heap_push(item_t *h, Py_ssize_t *n, double d, int64_t v)
{
    Py_ssize_t i = (*n)++;
    while (i > 0) {
        Py_ssize_t p = (i - 1) / 2;
        if (h[p].d <= d) break;
        h[i] = h[p];
        i = p;
    }
    h[i].d = d;
    h[i].v = v;
}

static item_t heap_pop(item_t *h, Py_ssize_t *n)
{
    item_t top = h[0];
    item_t last = h[--(*n)];
    Py_ssize_t i = 0;
    for (;;) {
        Py_ssize_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && h[c + 1].d < h[c].d) c++;
        if (h[c].d >= last.d) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = last;
    return top;
}

/* Returns 0 on success, -1 on allocation failure, -2 on an index out of range. */
static int run(const int64_t *indptr, const int64_t *indices, const double *weights,
               const double *lengths, Py_ssize_t n_nodes, Py_ssize_t n_edges,
               const int64_t *sources, Py_ssize_t k, const int64_t *targets, Py_ssize_t t,
               double *out, double *out_len, double limit)
{
    double *dist = malloc(sizeof(double) * (size_t)n_nodes);
    /* length along the path found so far (only with lengths) */
    double *len = lengths ? malloc(sizeof(double) * (size_t)n_nodes) : NULL;
    int64_t *tpos = malloc(sizeof(int64_t) * (size_t)n_nodes);
    int64_t *touched = malloc(sizeof(int64_t) * (size_t)n_nodes);
    item_t *heap = malloc(sizeof(item_t) * (size_t)(n_edges + 1));
    int status = 0;
    if (!dist || !tpos || !touched || !heap || (lengths && !len)) {
        status = -1;
        goto done;
    }
    for (Py_ssize_t i = 0; i < n_nodes; i++) {
        dist[i] = INFINITY;
        tpos[i] = -1;
    }
    for (Py_ssize_t j = 0; j < t; j++) {
        if (targets[j] < 0 || targets[j] >= n_nodes) { status = -2; goto done; }
        tpos[targets[j]] = j;
    }
    for (Py_ssize_t j = 0; j < k * t; j++) out[j] = INFINITY;
    if (lengths)
        for (Py_ssize_t j = 0; j < k * t; j++) out_len[j] = INFINITY;
    for (Py_ssize_t r = 0; r < k; r++) {
        int64_t s = sources[r];
        if (s < 0 || s >= n_nodes) { status = -2; goto done; }
        double *row = out + r * t;
        double *row_len = lengths ? out_len + r * t : NULL;
        Py_ssize_t n_heap = 0, n_touched = 0, found = 0;
        dist[s] = 0.0;
        if (lengths) len[s] = 0.0;
        touched[n_touched++] = s;
        heap_push(heap, &n_heap, 0.0, s);
        while (n_heap > 0) {
            item_t it = heap_pop(heap, &n_heap);
            int64_t v = it.v;
            double d = it.d;
            if (d > dist[v]) continue; /* stale entry */
            if (d > limit) break;
            if (tpos[v] >= 0) {
                row[tpos[v]] = d;
                if (lengths) row_len[tpos[v]] = len[v];
                if (++found == t) break;
            }
            for (int64_t e = indptr[v]; e < indptr[v + 1]; e++) {
                int64_t u = indices[e];
                double nd = d + weights[e];
                if (nd < dist[u]) {
                    if (dist[u] == INFINITY) touched[n_touched++] = u;
                    dist[u] = nd;
                    if (lengths) len[u] = len[v] + lengths[e];
                    heap_push(heap, &n_heap, nd, u);
                }
            }
        }
        for (Py_ssize_t i = 0; i < n_touched; i++) dist[touched[i]] = INFINITY;
    }
done:
    free(dist);
    free(len);
    free(tpos);
    free(touched);
    free(heap);
    return status;
}

static int check(Py_buffer *b, Py_ssize_t itemsize, const char *name)
{
    if (b->itemsize != itemsize || b->len % itemsize != 0) {
        PyErr_Format(PyExc_TypeError, "%s must be a contiguous buffer of %zd-byte items", name,
                     itemsize);
        return -1;
    }
    return 0;
}

static PyObject *search(PyObject *args, int with_lengths)
{
    Py_buffer indptr, indices, weights, lengths, sources, targets, out, out_len;
    double limit;
    Py_buffer *all[8] = {&indptr, &indices, &weights, &sources, &targets, &out, &lengths, &out_len};
    int n_buf = with_lengths ? 8 : 6;
    if (with_lengths) {
        if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*w*w*d", &indptr, &indices, &weights, &lengths,
                              &sources, &targets, &out, &out_len, &limit))
            return NULL;
    } else if (!PyArg_ParseTuple(args, "y*y*y*y*y*w*d", &indptr, &indices, &weights, &sources,
                                 &targets, &out, &limit)) {
        return NULL;
    }
    PyObject *result = NULL;
    if (check(&indptr, 8, "indptr") || check(&indices, 8, "indices") ||
        check(&weights, 8, "weights") || check(&sources, 8, "sources") ||
        check(&targets, 8, "targets") || check(&out, 8, "out") ||
        (with_lengths && (check(&lengths, 8, "lengths") || check(&out_len, 8, "out_len"))))
        goto release;
    Py_ssize_t n_nodes = indptr.len / 8 - 1;
    Py_ssize_t n_edges = indices.len / 8;
    Py_ssize_t k = sources.len / 8;
    Py_ssize_t t = targets.len / 8;
    if (n_nodes < 0 || weights.len / 8 != n_edges || out.len / 8 != k * t ||
        (with_lengths && (lengths.len / 8 != n_edges || out_len.len / 8 != k * t))) {
        PyErr_SetString(PyExc_ValueError, "inconsistent array sizes");
        goto release;
    }
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = run((const int64_t *)indptr.buf, (const int64_t *)indices.buf,
                 (const double *)weights.buf, with_lengths ? (const double *)lengths.buf : NULL,
                 n_nodes, n_edges, (const int64_t *)sources.buf, k,
                 (const int64_t *)targets.buf, t, (double *)out.buf,
                 with_lengths ? (double *)out_len.buf : NULL, limit);
    Py_END_ALLOW_THREADS
    if (status == -1) {
        PyErr_NoMemory();
        goto release;
    }
    if (status == -2) {
        PyErr_SetString(PyExc_IndexError, "source or target node out of range");
        goto release;
    }
    Py_INCREF(Py_None);
    result = Py_None;
release:
    for (int i = 0; i < n_buf; i++) PyBuffer_Release(all[i]);
    return result;
}

static PyObject *many_sources(PyObject *self, PyObject *args)
{
    (void)self;
    return search(args, 0);
}

static PyObject *many_sources_length(PyObject *self, PyObject *args)
{
    (void)self;
    return search(args, 1);
}

static PyMethodDef methods[] = {
    {"many_sources", many_sources, METH_VARARGS,
     "many_sources(indptr, indices, weights, sources, targets, out, limit): "
     "shortest-path distances from each source to each target (see urlink.network.skims)."},
    {"many_sources_length", many_sources_length, METH_VARARGS,
     "many_sources_length(indptr, indices, weights, lengths, sources, targets, out, out_len, "
     "limit): as many_sources, and the summed lengths along the paths found."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_dijkstra", "Compiled many-source Dijkstra for urlink.network.skims.", -1,
    methods,
};

PyMODINIT_FUNC PyInit__dijkstra(void) { return PyModule_Create(&module); }
