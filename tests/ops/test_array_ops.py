"""Array ops: forward values against NumPy, dtypes, static shapes, construction errors, gradients.

One table (``ROWS``) drives the forward check (on constants, which the plan folds, and on
placeholders of unknown dims, which run the run-time kernels), the dtype check and -- for
differentiable rows -- the shared central-difference gradient check. Index-like arguments are
baked into each row's function, so its inputs are only the data the op is differentiated by.
"""
import collections

import numpy as np
import pytest

import tfnb as tf
from gradcheck import check_gradients

# The reference's dtype is what TF1 gives (checked against TensorFlow when the table was written).
Row = collections.namedtuple("Row", "name fn inputs ref grad order")


def row(name, fn, inputs, ref, grad=True, order=1):
    return Row(name, fn, inputs, ref, grad, order)


rng = np.random.RandomState(0)
A = rng.randn(3, 4).astype(np.float32)
A2 = rng.randn(3, 4).astype(np.float32)
B = rng.randn(2, 3, 4).astype(np.float32)
C = rng.randn(3, 1).astype(np.float32)
V = rng.randn(4).astype(np.float32)
V3 = rng.randn(3).astype(np.float32)
I = np.arange(12, dtype=np.int32).reshape(3, 4)
MASK = np.array([True, False, True])
TIES = rng.randint(0, 6, (3, 80)).astype(np.float32)
WIDE = rng.randn(1, 64)
MASK2 = A > 0


def _np_one_hot(ind, depth, on=1.0, off=0.0, dtype=np.float32):
    res = np.where(ind[..., None] == np.arange(depth), on, off)
    return res.astype(dtype)


def _np_unique(x):
    _, first = np.unique(x, return_index=True)
    y = x[np.sort(first)]
    return y, np.array([list(y).index(v) for v in x], dtype=np.int32)


def _np_top_k(x, k):
    idx = np.argsort(-x, axis=-1, kind="stable")[..., :k]
    return np.take_along_axis(x, idx, -1), idx.astype(np.int32)


def _np_reverse_sequence(x, lengths, seq_axis, batch_axis):
    res = np.moveaxis(x.copy(), (batch_axis, seq_axis), (0, 1))
    for i, n in enumerate(lengths):
        res[i, :n] = res[i, :n][::-1].copy()
    return np.moveaxis(res, (0, 1), (batch_axis, seq_axis))


def _np_segment_sum(d, ids, n):
    res = np.zeros((n,) + d.shape[1:], d.dtype)
    for i, s in enumerate(ids):
        if s >= 0:
            res[s] += d[i]
    return res


def _np_scatter(shape, idx, upd):
    res = np.zeros(shape, upd.dtype)
    for i, u in zip(idx, upd):
        res[tuple(i)] += u
    return res


def _split_mix(x):
    s0, _, s2 = tf.split(x, [1, -1, 2], axis=1)
    return tf.concat([s2, s0 * 3.0], axis=1)


def _unstack_mix(x):
    u = tf.unstack(x, num=4, axis=1)
    return tf.stack([u[3], u[0] * 2.0])


ROWS = [
    # --- creation / identity / reshaping ---
    row("identity", lambda x: tf.identity(x), [A], lambda a: a),
    row("reshape_neg", lambda x: tf.reshape(x, [-1, 6]), [B], lambda b: b.reshape(-1, 6)),
    row("expand_dims", lambda x: tf.expand_dims(x, -1), [A], lambda a: a[..., None]),
    row("squeeze", lambda x: tf.squeeze(x, [1]), [C], lambda c: c[:, 0]),
    row("fill", lambda: tf.fill([2, 3], 1.5), [], lambda: np.full((2, 3), 1.5, np.float32),
        grad=False),
    row("fill_value", lambda v: tf.fill([2, 3], v), [np.array(1.5, np.float32)],
        lambda v: np.full((2, 3), v, np.float32), order=2),
    # dims known only at run time: the two-input Fill kernel and its gradient
    row("fill_runtime_dims", lambda x, v: tf.fill(tf.shape(tf.placeholder_with_default(
        x, [None, None])), v) * x, [A, np.array(
        -0.7, np.float32)], lambda x, v: np.full(x.shape, v, np.float32) * x, order=2),
    row("fill_int64", lambda: tf.fill(tf.constant([2, 1], tf.int64), np.int64(7)), [],
        lambda: np.full((2, 1), 7, np.int64), grad=False),
    row("zeros_int", lambda: tf.zeros([2], tf.int32), [], lambda: np.zeros(2, np.int32),
        grad=False),
    row("ones_like", lambda x: tf.ones_like(x), [A], lambda a: np.ones_like(a), grad=False),
    row("zeros_like_dtype", lambda x: tf.zeros_like(x, dtype=tf.int64), [A],
        lambda a: np.zeros(a.shape, np.int64), grad=False),
    row("range", lambda: tf.range(1, 10, 3), [], lambda: np.arange(1, 10, 3, dtype=np.int32),
        grad=False),
    row("range_float", lambda: tf.range(0.5, 2.0, 0.5), [],
        lambda: np.arange(0.5, 2.0, 0.5, dtype=np.float32), grad=False),
    row("linspace", lambda: tf.linspace(0.0, 1.0, 5), [],
        lambda: np.linspace(0, 1, 5, dtype=np.float32), grad=False),
    row("shape", lambda x: tf.shape(x), [B], lambda b: np.array(b.shape, np.int32), grad=False),
    row("shape_int64", lambda x: tf.shape(x, out_type=tf.int64), [B],
        lambda b: np.array(b.shape, np.int64), grad=False),
    row("size", lambda x: tf.size(x), [B], lambda b: np.int32(b.size), grad=False),
    row("rank", lambda x: tf.rank(x), [B], lambda b: np.int32(b.ndim), grad=False),
    # --- transpose / tile / broadcast_to ---
    row("transpose_default", lambda x: tf.transpose(x), [A], lambda a: a.T, order=2),
    row("transpose_perm", lambda x: tf.transpose(x, [2, 0, 1]), [B],
        lambda b: b.transpose(2, 0, 1)),
    row("matrix_transpose", lambda x: tf.matrix_transpose(x), [B],
        lambda b: b.transpose(0, 2, 1)),
    row("invert_permutation", lambda: tf.invert_permutation([2, 0, 1]), [],
        lambda: np.array([1, 2, 0], np.int32), grad=False),
    row("tile", lambda x: tf.tile(x, [2, 3]), [A], lambda a: np.tile(a, (2, 3)), order=2),
    row("tile_3d", lambda x: tf.tile(x, [1, 2, 1]), [B], lambda b: np.tile(b, (1, 2, 1))),
    row("tile_int", lambda: tf.tile(tf.constant(I), [1, 2]), [], lambda: np.tile(I, (1, 2)),
        grad=False),
    row("broadcast_to", lambda x: tf.broadcast_to(x, [2, 3, 4]), [C],
        lambda c: np.broadcast_to(c, (2, 3, 4))),
    # --- pad ---
    row("pad_constant", lambda x: tf.pad(x, [[1, 0], [2, 1]]), [A],
        lambda a: np.pad(a, ((1, 0), (2, 1)))),
    row("pad_value", lambda x: tf.pad(x, [[0, 2], [1, 1]], constant_values=-1.5), [A],
        lambda a: np.pad(a, ((0, 2), (1, 1)), constant_values=-1.5)),
    row("pad_reflect", lambda x: tf.pad(x, [[2, 1], [3, 2]], mode="reflect"), [A],
        lambda a: np.pad(a, ((2, 1), (3, 2)), mode="reflect"), order=2),
    row("pad_symmetric", lambda x: tf.pad(x, [[3, 1], [1, 4]], mode="SYMMETRIC"), [A],
        lambda a: np.pad(a, ((3, 1), (1, 4)), mode="symmetric"), order=2),
    row("pad_reflect_3d", lambda x: tf.pad(x, [[1, 0], [0, 2], [1, 1]], mode="REFLECT"), [B],
        lambda b: np.pad(b, ((1, 0), (0, 2), (1, 1)), mode="reflect")),
    row("pad_bool", lambda: tf.pad(tf.constant(MASK), [[1, 1]]), [],
        lambda: np.pad(MASK, (1, 1)), grad=False),
    # --- slice / strided slice / reverse ---
    row("slice", lambda x: tf.slice(x, [1, 0], [2, -1]), [A], lambda a: a[1:3, :], order=2),
    row("slice_3d", lambda x: tf.slice(x, [0, 1, 2], [2, 2, 1]), [B], lambda b: b[:, 1:3, 2:3]),
    row("getitem_int", lambda x: x[1], [A], lambda a: a[1], order=2),
    row("getitem_range", lambda x: x[:, 1:3], [A], lambda a: a[:, 1:3]),
    row("getitem_neg_steps", lambda x: x[::-1, ::2], [A], lambda a: a[::-1, ::2], order=2),
    row("getitem_neg_bounds", lambda x: x[-2:, :-1], [A], lambda a: a[-2:, :-1]),
    row("getitem_neg_step_bounds", lambda x: x[2:0:-1, -1::-3], [A], lambda a: a[2:0:-1, -1::-3]),
    row("getitem_scalar", lambda x: x[1, 2], [A], lambda a: a[1, 2]),
    row("getitem_ellipsis", lambda x: x[..., 1], [B], lambda b: b[..., 1]),
    row("getitem_ellipsis_mid", lambda x: x[1, ..., 2:4], [B], lambda b: b[1, ..., 2:4]),
    row("getitem_newaxis", lambda x: x[None, 1:, tf.newaxis, -1], [A],
        lambda a: a[None, 1:, None, -1]),
    row("getitem_newaxis_end", lambda x: x[:, tf.newaxis], [B], lambda b: b[:, None]),
    row("getitem_out_of_range_clamped", lambda x: x[1:10, -10:2], [A], lambda a: a[1:10, -10:2]),
    row("getitem_list_spec", lambda x: x[[1, 2]], [A], lambda a: a[1, 2]),
    row("strided_slice_masks",
        lambda x: tf.strided_slice(x, [0, 5, 1], [0, 0, 3], [1, -2, 1], begin_mask=1,
                                   end_mask=3, shrink_axis_mask=0),
        [B], lambda b: b[:, 5::-2, 1:3]),
    row("strided_slice_shrink", lambda x: tf.strided_slice(x, [1, 0], [2, 3], shrink_axis_mask=1),
        [A], lambda a: a[1, 0:3]),
    row("reverse", lambda x: tf.reverse(x, [0]), [A], lambda a: a[::-1]),
    row("reverse_v2_multi", lambda x: tf.reverse_v2(x, [-1, 0]), [B], lambda b: b[::-1, :, ::-1]),
    row("reverse_sequence", lambda x: tf.reverse_sequence(x, [2, 4, 0], seq_axis=1), [A],
        lambda a: _np_reverse_sequence(a, [2, 4, 0], 1, 0)),
    row("reverse_sequence_batch_last",
        lambda x: tf.reverse_sequence(x, np.array([3, 1, 2, 0], np.int64), seq_dim=1,
                                      batch_dim=2), [B],
        lambda b: _np_reverse_sequence(b, [3, 1, 2, 0], 1, 2), order=2),
    # --- joining / splitting ---
    row("concat", lambda x, y: tf.concat([x, y * 2.0], 0), [A, A2],
        lambda a, b: np.concatenate([a, b * 2])),
    row("concat_neg_axis", lambda x, y: tf.concat([x, y], -1), [A, A2],
        lambda a, b: np.concatenate([a, b], -1)),
    row("stack_axis1", lambda x, y: tf.stack([x, y], axis=1), [A, A2],
        lambda a, b: np.stack([a, b], 1)),
    row("unstack_partial", _unstack_mix, [A], lambda a: np.stack([a[:, 3], a[:, 0] * 2])),
    row("split_count", lambda x: tf.split(x, 2, axis=1)[1] * 2.0 + tf.split(x, 2, axis=1)[0],
        [A], lambda a: a[:, 2:] * 2 + a[:, :2]),
    row("split_sizes_partial", _split_mix, [A],
        lambda a: np.concatenate([a[:, 2:], a[:, :1] * 3], 1)),
    row("meshgrid", lambda x, y: tf.meshgrid(x, y)[0] * 2.0 + tf.meshgrid(x, y)[1], [V3, V],
        lambda a, b: np.meshgrid(a, b)[0] * 2 + np.meshgrid(a, b)[1]),
    row("meshgrid_ij", lambda x, y: tf.subtract(*tf.meshgrid(x, y, indexing="ij")), [V3, V],
        lambda a, b: np.subtract(*np.meshgrid(a, b, indexing="ij"))),
    # --- gather / scatter ---
    row("gather", lambda x: tf.gather(x, [2, 0, 2]), [A], lambda a: a[[2, 0, 2]], order=2),
    row("gather_axis1", lambda x: tf.gather(x, [3, 1, 1], axis=1), [A],
        lambda a: a[:, [3, 1, 1]], order=2),
    row("gather_2d_ids", lambda x: tf.gather(x, [[0, 1], [2, 2]]), [A],
        lambda a: a[[[0, 1], [2, 2]]]),
    row("gather_axis1_2d_ids", lambda x: tf.gather(x, [[0, 2], [1, 1]], axis=1), [B],
        lambda b: b[:, [[0, 2], [1, 1]]]),
    row("gather_axis_last", lambda x: tf.gather(x, [3, 0], axis=-1), [B], lambda b: b[..., [3, 0]]),
    row("gather_int64_ids", lambda x: tf.gather(x, np.array([1, 1], np.int64)), [V],
        lambda v: v[[1, 1]]),
    row("gather_nd", lambda x: tf.gather_nd(x, [[0, 1], [1, 2], [0, 1]]), [B],
        lambda b: b[[0, 1, 0], [1, 2, 1]], order=2),
    row("gather_nd_full", lambda x: tf.gather_nd(x, [[0, 1, 2], [1, 0, 3]]), [B],
        lambda b: b[[0, 1], [1, 0], [2, 3]]),
    row("scatter_nd", lambda u: tf.scatter_nd([[1], [3], [1]], u, [5, 4]), [A],
        lambda u: _np_scatter((5, 4), [[1], [3], [1]], u)),
    row("scatter_nd_2d", lambda u: tf.scatter_nd([[0, 1], [2, 0]], u, [3, 2]), [V[:2]],
        lambda u: _np_scatter((3, 2), [[0, 1], [2, 0]], u)),
    row("unsorted_segment_sum", lambda d: tf.unsorted_segment_sum(d, [0, 3, 0], 4), [A],
        lambda d: _np_segment_sum(d, [0, 3, 0], 4), order=2),
    row("unsorted_segment_sum_neg", lambda d: tf.unsorted_segment_sum(d, [1, -1, 1], 2), [A],
        lambda d: _np_segment_sum(d, [1, -1, 1], 2)),
    # --- masks / one_hot / unique / top_k ---
    # (the reshape gives the data-dependent output a static shape for the gradient checker)
    row("boolean_mask", lambda x: tf.reshape(tf.boolean_mask(x, MASK), [2, 4]), [A],
        lambda a: a[MASK]),
    row("boolean_mask_2d", lambda x: tf.reshape(tf.boolean_mask(x, MASK2), [int(MASK2.sum())]),
        [A], lambda a: a[MASK2], order=2),
    row("boolean_mask_int_mask", lambda x: tf.reshape(tf.boolean_mask(x, [0, 2, 0]), [1, 4]),
        [A], lambda a: a[[False, True, False]]),
    row("boolean_mask_axis1", lambda x: tf.reshape(tf.boolean_mask(x, MASK, axis=1), [2, 2, 4]),
        [B], lambda b: b[:, MASK]),
    row("sequence_mask", lambda: tf.sequence_mask([1, 3, 0], 4), [],
        lambda: np.arange(4) < np.array([[1], [3], [0]]), grad=False),
    row("sequence_mask_default_len_float",
        lambda: tf.sequence_mask(tf.constant([[1, 2], [0, 1]], tf.int64), dtype=tf.float32), [],
        lambda: (np.arange(2) < np.array([[1, 2], [0, 1]])[..., None]).astype(np.float32),
        grad=False),
    row("one_hot", lambda: tf.one_hot([0, 2, -1, 5], 3), [],
        lambda: _np_one_hot(np.array([0, 2, -1, 5]), 3), grad=False),
    row("one_hot_values", lambda: tf.one_hot([1, 0], 3, on_value=2.0, off_value=-1.0), [],
        lambda: _np_one_hot(np.array([1, 0]), 3, 2.0, -1.0), grad=False),
    row("one_hot_int", lambda: tf.one_hot([1, 0], 2, dtype=tf.int32), [],
        lambda: _np_one_hot(np.array([1, 0]), 2, dtype=np.int32), grad=False),
    row("one_hot_int_on", lambda: tf.one_hot([1, 0], 2, on_value=5), [],
        lambda: _np_one_hot(np.array([1, 0]), 2, 5, 0, np.int32), grad=False),
    row("one_hot_axis0", lambda: tf.one_hot([[1, 0], [2, 2]], 3, axis=0), [],
        lambda: np.moveaxis(_np_one_hot(np.array([[1, 0], [2, 2]]), 3), -1, 0), grad=False),
    row("one_hot_bool", lambda: tf.one_hot(np.array([1, 0], np.uint8), 2, True, False), [],
        lambda: np.eye(2, dtype=bool)[[1, 0]], grad=False),
    row("unique", lambda: tuple(tf.unique([3, 1, 3, 2, 1])), [],
        lambda: _np_unique(np.array([3, 1, 3, 2, 1], np.int32)), grad=False),
    row("unique_with_counts_int64",
        lambda: tuple(tf.unique_with_counts([2.5, 2.5, 1.0], out_idx=tf.int64)), [],
        lambda: (np.array([2.5, 1], np.float32), np.array([0, 0, 1], np.int64),
                 np.array([2, 1], np.int64)), grad=False),
    row("top_k_values", lambda x: tf.top_k(x, 2).values, [A],
        lambda a: -np.sort(-a, axis=-1)[:, :2], order=2),
    row("top_k_3d", lambda x: tf.top_k(x, 3, sorted=True)[0], [B],
        lambda b: -np.sort(-b, axis=-1)[..., :3]),
    row("top_k_ties_indices", lambda: tf.top_k([1, 3, 3, 2, 3], 3).indices, [],
        lambda: np.array([1, 2, 4], np.int32), grad=False),
    row("top_k_large_ties", lambda: tuple(tf.top_k(tf.constant(TIES), 9)), [],
        lambda: _np_top_k(TIES, 9), grad=False),
    row("top_k_large", lambda x: tf.top_k(x, 4).values, [WIDE], lambda w: _np_top_k(w, 4)[0]),
    row("top_k_int_values", lambda: tf.top_k(tf.constant(I[:, ::-1].copy()), 2).values, [],
        lambda: I[:, ::-1][:, :2], grad=False),
]

GRAD_ROWS = [r for r in ROWS if r.grad and r.inputs]


def _outputs(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


def _run_row(r, mode):
    """Builds row ``r`` on constants ("const") or on placeholders of unknown dims ("fed")."""
    with tf.Graph().as_default():
        if mode == "const":
            ts = [tf.constant(x) for x in r.inputs]
            feed = {}
        else:
            ts = [tf.placeholder(tf.as_dtype(x.dtype), [None] * x.ndim) for x in r.inputs]
            feed = dict(zip(ts, r.inputs))
        ys = _outputs(r.fn(*ts))
        with tf.Session() as sess:
            return sess.run(ys, feed), ys


FORWARD = [(r, "const") for r in ROWS] + [(r, "fed") for r in ROWS if r.inputs]


@pytest.mark.parametrize("r,mode", FORWARD, ids=["%s-%s" % (r.name, m) for r, m in FORWARD])
def test_forward(r, mode):
    vals, ys = _run_row(r, mode)
    refs = _outputs(r.ref(*r.inputs))
    assert len(vals) == len(refs)
    for v, y, ref in zip(vals, ys, refs):
        v = np.asarray(v)
        ref = np.asarray(ref)
        assert v.dtype == y.dtype.np, "kernel returned %s for a %s tensor" % (v.dtype, y.dtype)
        assert v.dtype == ref.dtype, "dtype %s, TF1 gives %s" % (v.dtype, ref.dtype)
        assert y.shape.is_compatible_with(v.shape), "static %s vs value %s" % (y.shape, v.shape)
        if mode == "const":
            assert y.shape.is_fully_defined() or r.name.startswith(("boolean_mask", "unique"))
        np.testing.assert_allclose(v, ref, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("r", GRAD_ROWS, ids=[r.name for r in GRAD_ROWS])
def test_gradients(r):
    check_gradients(r.fn, r.inputs, order=r.order)


# ----------------------------------------------------------------------------------------------
# Static shapes (TF1's shape functions) and construction-time errors
# ----------------------------------------------------------------------------------------------
def _ph(shape, dtype=tf.float32):
    return tf.placeholder(dtype, shape)


SHAPES = [
    ("getitem_range", lambda: _ph([None, 5, 6])[:, 1:4, :], [None, 3, 6]),
    ("getitem_tensor_index", lambda: _ph([5, 6])[_ph([], tf.int32)], [6]),
    ("getitem_tensor_index_col", lambda: _ph([5, 6])[:, _ph([], tf.int32)], [5]),
    ("getitem_tensor_range", lambda: _ph([5, 6])[_ph([], tf.int32):], [None, 6]),
    ("getitem_unknown_dim_range", lambda: _ph([None, 6])[1:3], [None, 6]),
    ("getitem_clamped", lambda: _ph([5, 6])[1:9], [4, 6]),
    ("getitem_step", lambda: _ph([5, 7])[::2, ::-3], [3, 3]),
    ("getitem_newaxis", lambda: _ph([5, 6])[None, ..., tf.newaxis, 1], [1, 5, 1]),
    ("getitem_unknown_rank", lambda: _ph(None)[1], None),
    ("shape_getitem", lambda: tf.shape(_ph([None, 3]))[0], []),
    ("split_unknown_batch", lambda: tf.split(_ph([None, 3, 4]), 3, axis=1)[2], [None, 1, 4]),
    ("split_sizes_neg", lambda: tf.split(_ph([5, 6]), [2, -1])[1], [3, 6]),
    ("split_unknown_neg", lambda: tf.split(_ph([None, 6]), [1, -1])[1], [None, 6]),
    ("split_tensor_sizes", lambda: tf.split(_ph([5, 6]), _ph([2], tf.int32), axis=1)[0],
     [5, None]),
    ("pad_static", lambda: tf.pad(_ph([None, 5, 6]), [[1, 1], [2, 0], [0, 0]]), [None, 7, 6]),
    ("pad_dynamic", lambda: tf.pad(_ph([5, 6]), _ph([2, 2], tf.int32)), [None, None]),
    ("mirror_pad_static", lambda: tf.pad(_ph([5, 6]), [[5, 0], [0, 0]], "SYMMETRIC"), [10, 6]),
    ("tile", lambda: tf.tile(_ph([None, 5, 6]), [2, 1, 3]), [None, 5, 18]),
    ("tile_partial_multiples", lambda: tf.tile(_ph([5, 6]), tf.stack([_ph([], tf.int32), 2])),
     [None, 12]),
    ("tile_zero", lambda: tf.tile(_ph([None, 2]), [0, 1]), [0, 2]),
    ("transpose_unknown_rank", lambda: tf.transpose(_ph(None)), None),
    ("transpose", lambda: tf.transpose(_ph([None, 2, 3]), [1, 2, 0]), [2, 3, None]),
    ("slice_partial_begin", lambda: tf.slice(_ph([5, 6]), tf.stack([_ph([], tf.int32), 0]),
                                             [2, -1]), [2, 6]),
    ("slice_partial_size", lambda: tf.slice(_ph([5, 6]), [1, 1], tf.stack([_ph([], tf.int32), 2])),
     [None, 2]),
    ("slice_to_end", lambda: tf.slice(_ph([None, 6]), [0, 2], [-1, -1]), [None, 4]),
    ("gather_axis1", lambda: tf.gather(_ph([None, 5, 6]), [[1, 2]], axis=1), [None, 1, 2, 6]),
    ("gather_nd", lambda: tf.gather_nd(_ph([None, 5, 6]), _ph([7, 2], tf.int32)), [7, 6]),
    ("scatter_nd", lambda: tf.scatter_nd([[1], [3]], _ph([2, 2]), [5, 2]), [5, 2]),
    ("uss", lambda: tf.unsorted_segment_sum(_ph([5, 6]), [0, 1, 0, 1, 2], 4), [4, 6]),
    ("one_hot_axis0", lambda: tf.one_hot(_ph([None, 4], tf.int32), 3, axis=0), [3, None, 4]),
    ("boolean_mask", lambda: tf.boolean_mask(_ph([None, 5, 6]), _ph([None, 5], tf.bool)),
     [None, 6]),
    ("boolean_mask_axis", lambda: tf.boolean_mask(_ph([5, 6]), [True] * 6, axis=1), [5, None]),
    ("sequence_mask_const", lambda: tf.sequence_mask([1, 2]), [2, 2]),
    ("sequence_mask_unknown", lambda: tf.sequence_mask(_ph([None], tf.int32)), [None, None]),
    ("top_k", lambda: tf.top_k(_ph([None, 5, 6]), 3).indices, [None, 5, 3]),
    ("top_k_unknown_k", lambda: tf.top_k(_ph([None, 6]), _ph([], tf.int32)).values, [None, None]),
    ("broadcast_to_dynamic", lambda: tf.broadcast_to(_ph([5, 6]), tf.stack([_ph([], tf.int32), 5,
                                                                             6])), [None, 5, 6]),
    ("unique", lambda: tf.unique(_ph([7], tf.int32)).idx, [7]),
    ("reverse", lambda: tf.reverse(_ph([None, 5]), [1]), [None, 5]),
    ("meshgrid", lambda: tf.meshgrid(_ph([3]), _ph([None]))[0], [None, 3]),
    ("range_static", lambda: tf.range(2, 11, 3), [3]),
    ("size_static", lambda: tf.size(_ph([2, 3])), []),
]


@pytest.mark.parametrize("name,fn,expected", SHAPES, ids=[s[0] for s in SHAPES])
def test_static_shape(name, fn, expected):
    t = fn()
    if expected is None:
        assert t.shape.ndims is None
    else:
        assert t.shape.as_list() == expected


ERRORS = [
    ("getitem_out_of_bounds", lambda: _ph([5, 6])[7], ValueError, "out of bounds"),
    ("getitem_too_many", lambda: _ph([5, 6])[1, 2, 3], ValueError, "Index out of range"),
    ("getitem_two_ellipses", lambda: _ph([5, 6])[..., ...], ValueError, "Multiple ellipses"),
    ("getitem_float", lambda: _ph([5, 6])[1.0], TypeError, "valid indices"),
    ("getitem_vector_tensor", lambda: _ph([5, 6])[tf.constant([1, 2])], TypeError,
     "valid indices"),
    ("getitem_float_tensor", lambda: _ph([5, 6])[tf.constant(1.0)], TypeError, "valid indices"),
    ("getitem_zero_step", lambda: _ph([5, 6])[::0], ValueError, "non-zero"),
    ("split_uneven", lambda: tf.split(_ph([5, 6]), 4), ValueError, "evenly divisible"),
    ("split_sizes_sum", lambda: tf.split(_ph([5, 6]), [2, 2]), ValueError, "can't split"),
    ("split_two_neg", lambda: tf.split(_ph([5, 6]), [-1, -1]), ValueError, "at most one -1"),
    ("split_scalar_tensor", lambda: tf.split(_ph([5, 6]), _ph([], tf.int32)), ValueError,
     "Rank-0"),
    ("transpose_bad_perm", lambda: tf.transpose(_ph([5, 6]), [0, 0]), ValueError, "permutation"),
    ("transpose_wrong_len", lambda: tf.transpose(_ph([5, 6]), [0, 1, 2]), ValueError, "Dimension"),
    ("tile_wrong_len", lambda: tf.tile(_ph([5, 6]), [2]), ValueError, "rank"),
    ("pad_wrong_rank", lambda: tf.pad(_ph([5, 6]), [[1, 1]]), ValueError, "rank of inputs"),
    ("pad_negative", lambda: tf.pad(_ph([5, 6]), [[1, -1], [0, 0]]), ValueError, "non-negative"),
    ("pad_reflect_too_big", lambda: tf.pad(_ph([5, 6]), [[5, 0], [0, 0]], "REFLECT"), ValueError,
     "less than"),
    ("pad_symmetric_too_big", lambda: tf.pad(_ph([5, 6]), [[6, 0], [0, 0]], "SYMMETRIC"),
     ValueError, "no greater"),
    ("pad_mode", lambda: tf.pad(_ph([5, 6]), [[1, 0], [0, 0]], "WRAP"), ValueError, "mode"),
    ("pad_value_dtype", lambda: tf.pad(tf.constant([1, 2]), [[1, 0]], constant_values=0.5),
     TypeError, None),
    ("slice_too_big", lambda: tf.slice(_ph([5, 6]), [1, 1], [5, 2]), ValueError, "size"),
    ("slice_wrong_len", lambda: tf.slice(_ph([5, 6]), [1], [2]), ValueError, "rank"),
    ("gather_bad_axis", lambda: tf.gather(_ph([5, 6]), [1], axis=2), ValueError, "rank"),
    ("gather_float_ids", lambda: tf.gather(_ph([5, 6]), [1.0]), TypeError, None),
    ("gather_nd_too_deep", lambda: tf.gather_nd(_ph([5, 6]), [[1, 2, 3]]), ValueError, "rank"),
    ("scatter_nd_mismatch", lambda: tf.scatter_nd([[1], [3]], _ph([3, 2]), [5, 2]), ValueError,
     "outer"),
    ("one_hot_dtype_clash", lambda: tf.one_hot([1], 3, on_value=5, off_value=0.0), TypeError,
     "does not match"),
    ("one_hot_dtype_param", lambda: tf.one_hot([1], 3, on_value=tf.constant(1), dtype=tf.float32),
     TypeError, "dtype parameter"),
    ("one_hot_float_ids", lambda: tf.one_hot([1.0], 3), TypeError, "indices"),
    ("one_hot_bool_defaults", lambda: tf.one_hot([1], 3, dtype=tf.bool), TypeError, "bool"),
    ("boolean_mask_scalar", lambda: tf.boolean_mask(_ph([5, 6]), True), ValueError, "scalar"),
    ("boolean_mask_shape", lambda: tf.boolean_mask(_ph([5, 6]), [True, False]), ValueError,
     "incompatible"),
    ("unique_2d", lambda: tf.unique([[1, 2], [1, 3]]), ValueError, "rank 1"),
    ("top_k_too_big", lambda: tf.top_k(_ph([5, 6]), 7), ValueError, "k = 7"),
    ("top_k_bool", lambda: tf.top_k(_ph([5, 6], tf.bool), 1), TypeError, "numeric"),
    ("broadcast_to_bad", lambda: tf.broadcast_to(tf.constant([1., 2.]), [3, 3]), ValueError,
     "Dimensions must be equal"),
    ("reverse_bad_axis", lambda: tf.reverse(_ph([5, 6]), [2]), ValueError, "out of valid range"),
    ("reverse_dup_axis", lambda: tf.reverse(_ph([5, 6]), [1, -1]), ValueError, "more than once"),
    ("reverse_sequence_lengths", lambda: tf.reverse_sequence(_ph([3, 4]), [1, 2], 1), ValueError,
     "Dimensions must be equal"),
    ("reverse_sequence_same_axes", lambda: tf.reverse_sequence(_ph([3, 4]), [1, 2, 3], 1, 1),
     ValueError, "seq_axis == batch_axis"),
    ("meshgrid_indexing", lambda: tf.meshgrid([1], [2], indexing="xx"), ValueError, "indexing"),
]


@pytest.mark.parametrize("name,fn,exc,match", ERRORS, ids=[e[0] for e in ERRORS])
def test_construction_errors(name, fn, exc, match):
    with pytest.raises(exc, match=match):
        fn()


# ----------------------------------------------------------------------------------------------
# Run-time paths: tensor indices, dynamic sizes, run-time errors
# ----------------------------------------------------------------------------------------------
def test_getitem_with_tensor_indices():
    x = tf.placeholder(tf.float32, [None, 4])
    i = tf.placeholder(tf.int32, [])
    j = tf.placeholder(tf.int64, [])
    ys = [x[i], x[:, i], x[i:j], x[j - 2, 1:], x[::i], x[-i]]
    static = [None if y.shape.ndims is None else y.shape.as_list() for y in ys]
    assert static == [[4], [None], [None, 4], [None], None, [4]]  # as TF1: bounds must be constant
    with tf.Session() as sess:
        got = sess.run(ys, {x: A, i: 2, j: 3})
    for g, ref in zip(got, [A[2], A[:, 2], A[2:3], A[1, 1:], A[::2], A[-2]]):
        np.testing.assert_array_equal(g, ref)


def test_getitem_tensor_index_int64_and_mixed():
    x = tf.constant(B)
    j = tf.constant(1, tf.int64)
    y = x[j, ..., 1:3]
    assert y.shape.as_list() == [3, 2]
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(y), B[1, ..., 1:3])


def test_getitem_on_variable_and_iteration():
    v = tf.Variable(A)
    rows = list(tf.constant(A))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_array_equal(sess.run(v[1, ::-1]), A[1, ::-1])
        np.testing.assert_array_equal(sess.run(rows[2]), A[2])


def test_split_and_pad_with_runtime_tensors():
    x = tf.placeholder(tf.float32, [None, 4])
    sizes = tf.placeholder(tf.int32, [3])
    parts = tf.split(x, sizes, axis=1)
    assert len(parts) == 3
    n = tf.placeholder(tf.int32, [])
    head, rest = tf.split(x, [n, -1], axis=1)
    assert head.shape.as_list() == [None, None]
    paddings = tf.placeholder(tf.int32, [2, 2])
    padded = tf.pad(x, paddings, mode="SYMMETRIC")
    padded_c = tf.pad(x, paddings, constant_values=2.0)
    tiled = tf.tile(x, tf.placeholder_with_default([2, 1], [2]))
    perm = tf.transpose(x, tf.placeholder_with_default([1, 0], [2]))
    k = tf.placeholder(tf.int32, [])
    top = tf.top_k(x, k)
    with tf.Session() as sess:
        got = sess.run([parts, padded, padded_c, tiled, perm, top, rest],
                       {x: A, sizes: [1, -1, 2], paddings: [[1, 2], [0, 3]], k: 2, n: 1})
    for g, ref in zip(got[0], [A[:, :1], A[:, 1:2], A[:, 2:]]):
        np.testing.assert_array_equal(g, ref)
    np.testing.assert_array_equal(got[1], np.pad(A, ((1, 2), (0, 3)), mode="symmetric"))
    np.testing.assert_array_equal(got[2], np.pad(A, ((1, 2), (0, 3)), constant_values=2))
    np.testing.assert_array_equal(got[3], np.tile(A, (2, 1)))
    np.testing.assert_array_equal(got[4], A.T)
    np.testing.assert_array_equal(got[5].values, -np.sort(-A, axis=1)[:, :2])
    np.testing.assert_array_equal(got[6], A[:, 1:])


RUNTIME_ERRORS = [
    ("slice_out_of_bounds", lambda x: tf.slice(x, [2, 0], [2, -1]), "Expected begin"),
    ("gather_out_of_range", lambda x: tf.gather(x, [7]), "out of bounds"),
    ("split_uneven", lambda x: tf.split(x, 2, axis=0)[0], "equal division"),
    ("split_sizes", lambda x: tf.split(x, [1, 1], axis=0)[0], "match input shape"),
    ("mirror_pad", lambda x: tf.pad(x, [[3, 0], [0, 0]], "REFLECT"), "less than"),
    ("getitem_index", lambda x: x[5], "out of bounds"),
    ("scatter_nd_index", lambda x: tf.scatter_nd([[7]], x[:1], [3, 4]), "invalid entry"),
    ("reverse_sequence_too_long", lambda x: tf.reverse_sequence(x, [1, 9, 1], 1), "seq_lengths"),
]


@pytest.mark.parametrize("name,fn,match", RUNTIME_ERRORS, ids=[e[0] for e in RUNTIME_ERRORS])
def test_runtime_errors(name, fn, match):
    x = tf.placeholder(tf.float32, [None, None])
    y = fn(x)
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match=match):
            sess.run(y, {x: A})


# ----------------------------------------------------------------------------------------------
# IndexedSlices: sparse gather gradients, dense conversion, mixed sums
# ----------------------------------------------------------------------------------------------
def test_gather_gradient_is_indexed_slices():
    params = tf.placeholder(tf.float32, [None, 4])
    y = tf.gather(params, [[2, 0], [2, 2]])
    g = tf.gradients(tf.reduce_sum(y * 2.0), params)[0]
    assert isinstance(g, tf.IndexedSlices)
    assert g.values.shape.as_list() == [4, 4]
    with tf.Session() as sess:
        v = sess.run(g, {params: A})
        dense = sess.run(tf.convert_to_tensor(g), {params: A})
    np.testing.assert_array_equal(v.indices, [2, 0, 2, 2])
    np.testing.assert_array_equal(v.dense_shape, [3, 4])
    ref = np.zeros_like(A)
    ref[0] = 2
    ref[2] = 6
    np.testing.assert_array_equal(dense, ref)


def test_gather_gradient_of_variable_stays_sparse():
    emb = tf.Variable(A)
    loss = tf.reduce_sum(tf.gather(emb, [1, 1]))
    g = tf.gradients(loss, emb)[0]
    assert isinstance(g, tf.IndexedSlices)
    assert tf.convert_to_tensor(g).shape.as_list() == [3, 4]


def test_indexed_slices_conversion_and_mixed_sum():
    x = tf.constant(A)
    sparse_only = tf.gradients(tf.gather(x, [0]) + tf.gather(x, [1]), x)[0]
    assert isinstance(sparse_only, tf.IndexedSlices)
    mixed = tf.gradients(tf.reduce_sum(tf.gather(x, [0, 0])) + tf.reduce_sum(x * 3.0), x)[0]
    assert isinstance(mixed, tf.Tensor)
    with pytest.raises(ValueError, match="dtype"):
        tf.convert_to_tensor(sparse_only, dtype=tf.int32)
    with tf.Session() as sess:
        m, s = sess.run([mixed, tf.convert_to_tensor(sparse_only)])
    ref = np.full_like(A, 3.0)
    ref[0] += 2
    np.testing.assert_array_equal(m, ref)
    np.testing.assert_array_equal(s, [[1] * 4, [1] * 4, [0] * 4])


def test_concat_gradient_with_unknown_sizes():
    def fn(x, y):
        a = tf.placeholder_with_default(x, [None, 4])
        return tf.reshape(tf.concat([a, y * 2.0], 0), [6, 4])
    check_gradients(fn, [A, A2])


def test_gradient_with_unknown_shapes():
    """Gradients built from run-time shapes (no static dims) for the shape-dependent rules."""
    def fn(x):
        u = tf.placeholder_with_default(x, [None, None])
        assert u.shape.as_list() == [None, None]
        parts = [u[1:, ::-1], tf.slice(u, [0, 1], [-1, 2]), tf.pad(u, [[1, 0], [0, 2]]),
                 tf.tile(u, [1, 2]), tf.gather(u, [0, 2], axis=1), tf.top_k(u, 2).values,
                 tf.boolean_mask(u, MASK2), tf.gather_nd(u, [[1, 2]]), tf.reverse(u, [1])]
        return tf.add_n([tf.reduce_sum(p * float(i + 1)) for i, p in enumerate(parts)])
    check_gradients(fn, [A])


def test_top_k_gradient_routes_to_sources():
    x = tf.constant([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
    g = tf.gradients(tf.reduce_sum(tf.top_k(x, 2).values * [[1.0, 10.0]]), x)[0]
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(g), [[0, 1, 10], [10, 0, 1]])


def test_broadcast_to_does_not_allocate_a_target():
    x = tf.constant(C)
    y = tf.broadcast_to(x, [2, 3, 4])
    assert y.op.type == "BroadcastTo"
    assert [i.op.type for i in y.op.inputs] == ["Const", "Const"]


# ----------------------------------------------------------------------------------------------
# Constants, placeholders, static shape/size/rank values
# ----------------------------------------------------------------------------------------------
def test_constant_and_placeholders():
    c = tf.constant(2.5, shape=[2, 2])
    assert c.shape.as_list() == [2, 2] and c.dtype == tf.float32
    p = tf.placeholder(tf.int32, [None, 2])
    d = tf.placeholder_with_default(tf.constant([[1, 2]]), [None, 2])
    assert d.shape.as_list() == [None, 2]
    with pytest.raises(ValueError, match="not compatible"):
        tf.placeholder_with_default([1, 2], [3])
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(c), np.full((2, 2), 2.5, np.float32))
        np.testing.assert_array_equal(sess.run(d), [[1, 2]])
        np.testing.assert_array_equal(sess.run(d, {d: [[3, 4], [5, 6]]}), [[3, 4], [5, 6]])
        np.testing.assert_array_equal(sess.run(p * 2, {p: [[1, 2]]}), [[2, 4]])
        with pytest.raises(tf.errors.InvalidArgumentError, match="must feed"):
            sess.run(p)


def test_shape_size_rank_static_and_dynamic():
    from tfnb.ops.core import constant_value
    x = tf.placeholder(tf.float32, [2, 3])
    y = tf.placeholder(tf.float32, [None, 3])
    np.testing.assert_array_equal(constant_value(tf.shape(x)), [2, 3])
    assert constant_value(tf.size(x)) == 6 and constant_value(tf.rank(y)) == 2
    assert constant_value(tf.shape(x)[1]) == 3
    assert constant_value(tf.shape(y)) is None and constant_value(tf.size(y)) is None
    dyn = [tf.shape(y), tf.size(y), tf.rank(tf.placeholder(tf.float32)), tf.shape(y)[0]]
    with tf.Session() as sess:
        got = sess.run(dyn, {y: np.zeros((4, 3)), dyn[2].op.inputs[0]: np.zeros((1, 2, 3))})
    np.testing.assert_array_equal(got[0], [4, 3])
    assert got[1] == 12 and got[2] == 3 and got[3] == 4
