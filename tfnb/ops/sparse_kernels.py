"""Numba kernels for sparse updates and unique candidate sampling (needs numba).

Not imported as ``tfnb.ops.sparse_kernels``: ``embedding_ops._sparse_kernels()`` copies this
file into the kernel cache directory (``fusion_codegen.cache_dir()``, never the repository) and
imports the copy from there, so numba's ``cache=True`` keeps the machine code beside it.

``first_distinct`` finds what ``embedding_ops._first_occurrences`` finds (the positions of the
first occurrences, in order), stopping at the ``n``-th distinct value.

``sum_rows`` repeats the NumPy path's arithmetic (``optimizer._sum_duplicates_numpy``) in the
same order: each index's rows are added one by one in the order they occur in ``indices``,
starting from the first, so the sums are identical bit for bit (the distinct indices may come
in another order, which an update of distinct rows does not see). Serial and without fastmath:
an embedding or NCE gradient has a few hundred rows, where a parallel loop would cost more
than it saves.
"""
import numpy as np
from numba import njit


@njit(cache=True, nogil=True, fastmath=False, error_model="numpy")
def sum_rows(indices, values, n_rows):
    """(m, rows, summed, bad) for ``indices`` [n] and ``values`` [n, k] (C-contiguous).

    ``bad`` is the position of the first index outside ``[0, n_rows)`` (then nothing else is
    computed), else -1. ``m`` is the number of distinct indices; when ``m < n``, ``rows`` [m]
    holds them in the order of their first occurrence and ``summed`` [m, k] the sums of their
    rows; when ``m == n`` (no index repeats) ``summed`` is empty: the caller uses ``indices``
    and ``values`` as they are.

    The distinct indices are found with a sparse set (``slot[r]`` is ``r``'s position in
    ``rows`` if ``slot[r] < m`` and ``rows[slot[r]] == r``), so ``slot`` needs no clearing:
    linear time, and one uninitialized ``n_rows`` buffer.
    """
    n = indices.shape[0]
    k = values.shape[1]
    for i in range(n):
        if indices[i] < 0 or indices[i] >= n_rows:
            return 0, np.empty(0, np.int64), np.empty((0, k), values.dtype), i
    slot = np.empty(n_rows, np.int64)
    rows = np.empty(n, np.int64)
    group = np.empty(n, np.int64)
    m = 0
    for i in range(n):
        r = indices[i]
        g = slot[r]
        if g < 0 or g >= m or rows[g] != r:
            g = m
            slot[r] = g
            rows[g] = r
            m += 1
        group[i] = g
    if m == n:
        return m, rows, np.empty((0, k), values.dtype), -1
    summed = np.empty((m, k), values.dtype)
    seen = np.zeros(m, np.bool_)
    for i in range(n):
        g = group[i]
        if seen[g]:
            for c in range(k):
                summed[g, c] += values[i, c]
        else:
            seen[g] = True
            for c in range(k):
                summed[g, c] = values[i, c]
    return m, rows[:m], summed, -1


@njit(cache=True, nogil=True)
def first_distinct(values, n, slot):
    """(m, positions): the positions in ``values`` of the first occurrences of its first
    ``min(n, number of distinct values)`` = ``m`` distinct values, ascending (``positions``
    has room for ``n``; only ``positions[:m]`` is set).

    Every value must be in ``[0, slot.shape[0])``; ``slot`` (int32) is scratch of any
    content (a sparse set, as in ``sum_rows``), so one buffer serves every call (not
    concurrent ones).
    """
    seen = np.empty(n, np.int64)
    positions = np.empty(n, np.int64)
    m = 0
    for i in range(values.shape[0]):
        if m == n:
            break
        v = values[i]
        g = slot[v]
        if g >= 0 and g < m and seen[g] == v:
            continue
        slot[v] = m
        seen[m] = v
        positions[m] = i
        m += 1
    return m, positions
