"""NCHW conv/pool results are NCHW-shaped views of NHWC memory (conv_ops._nhwc_kernel).

Chains of NCHW ops must compute what the NHWC chain computes (forward and gradients), keep
their values in NHWC memory between ops (no transposing copy), and every consumer of such a
strided view must still see the right numbers: fetches (C-contiguous, as TF's), reshape,
concat, Send/Recv between devices, variables and checkpoints, py_func, the wire format of the
distributed runtime. Run with and without the numba kernels (pooling, Winograd).
"""
import numpy as np
import pytest

import tfnb as tf
from tfnb.ops import conv_ops, pool_ops

R = np.random.RandomState(7)


def u(*shape):
    return R.uniform(-1.0, 1.0, shape).astype(np.float32)


def to_nchw(a):
    return np.ascontiguousarray(a.transpose(0, 3, 1, 2))


def inp(v):
    """A graph input holding ``v`` that plan-time constant folding leaves to the kernels."""
    return tf.placeholder_with_default(tf.constant(v), v.shape)


def nhwc_memory(v):
    """Whether the NCHW-shaped array ``v`` lies in C-contiguous NHWC memory."""
    return v.ndim == 4 and v.transpose(0, 2, 3, 1).flags.c_contiguous


# A small image net: conv 5x5 (8 -> 16 channels: Winograd-sized) + bias + relu, max-pool 2x2/2,
# conv 3x3 + bias + relu, avg-pool 3x3/2 VALID, depthwise 3x3, fused batch norm.
X = u(2, 12, 12, 8)
W1, B1 = u(5, 5, 8, 16) * 0.3, u(16)
W2, B2 = u(3, 3, 16, 16) * 0.3, u(16)
WD = u(3, 3, 16, 2) * 0.3
SCALE, OFFSET = u(32) + 2.0, u(32)


def chain(fmt, x, with_bn=True, const=False):
    """(output, [layer tensors], params) of the net on ``x`` in ``fmt`` (params variables, or
    constants)."""
    c = "NCHW" if fmt == "NCHW" else "NHWC"

    def win(k, s):
        return ([1, 1, k, k], [1, 1, s, s]) if c == "NCHW" else ([1, k, k, 1], [1, s, s, 1])

    make = tf.constant if const else tf.Variable
    w1, w2, b1, b2, wd = [make(v) for v in (W1, W2, B1, B2, WD)]
    c1 = tf.nn.conv2d(x, w1, [1, 1, 1, 1], "SAME", data_format=c)
    h1 = tf.nn.relu(tf.nn.bias_add(c1, b1, data_format=c))
    p1 = tf.nn.max_pool(h1, *win(2, 2), "SAME", data_format=c)
    c2 = tf.nn.conv2d(p1, w2, [1, 1, 1, 1], "SAME", data_format=c)
    h2 = tf.nn.relu(tf.nn.bias_add(c2, b2, data_format=c))
    p2 = tf.nn.avg_pool(h2, *win(3, 1), "VALID", data_format=c)
    d = tf.nn.depthwise_conv2d(p2, wd, [1, 1, 1, 1], "SAME", data_format=c)
    layers = [c1, h1, p1, c2, h2, p2, d]
    if with_bn:
        d, _, _ = tf.nn.fused_batch_norm(d, tf.constant(SCALE), tf.constant(OFFSET),
                                         data_format=c, is_training=True)
        layers.append(d)
    return d, layers, [w1, b1, w2, b2, wd]


def run_chain(fmt, with_bn=True):
    """Values (in NHWC order) of the layers, the loss and the gradients wrt x and the params."""
    with tf.Graph().as_default():
        x = inp(to_nchw(X) if fmt == "NCHW" else X)
        y, layers, params = chain(fmt, x, with_bn)
        loss = tf.reduce_sum(y * y * tf.constant(0.5))
        grads = tf.gradients(loss, [x] + params)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            lv, gv = sess.run([layers, grads])
    back = (lambda a: a.transpose(0, 2, 3, 1)) if fmt == "NCHW" else (lambda a: a)
    return [back(v) for v in lv], [back(gv[0])] + gv[1:], lv + gv


def _compare_chains():
    nhwc_layers, nhwc_grads, _ = run_chain("NHWC")
    nchw_layers, nchw_grads, raw = run_chain("NCHW")
    for i, (a, b) in enumerate(zip(nchw_layers, nhwc_layers)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5, err_msg="layer %d" % i)
    for i, (a, b) in enumerate(zip(nchw_grads, nhwc_grads)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4, err_msg="gradient %d" % i)
    # Fetched values are the caller's C-contiguous arrays, as TF's.
    for v in raw:
        assert isinstance(v, np.ndarray) and v.flags.c_contiguous and v.flags.writeable


def test_nchw_chain_matches_nhwc():
    _compare_chains()


def test_nchw_chain_matches_nhwc_without_numba(monkeypatch):
    monkeypatch.setattr(pool_ops, "USE_NUMBA", False)
    monkeypatch.setenv("TFNB_WINOGRAD", "0")
    _compare_chains()


def test_internal_values_stay_in_nhwc_memory():
    """The kernels alone (no session): each NCHW conv/pool result, and the bias add and ReLU
    between them, is a view of NHWC memory; the next conv sees contiguous NHWC."""
    from tfnb.runtime.state import KernelContext
    with tf.Graph().as_default() as g:
        _, layers, _ = chain("NCHW", tf.constant(to_nchw(X)), with_bn=True, const=True)
        ctx = KernelContext(None, xp=np)
        vals = {}
        for o in g.get_operations():
            res = o._op_def.kernel(o, ctx)(*[vals[t] for t in o.inputs])
            for t, v in zip(o.outputs, res if len(o.outputs) != 1 else (res,)):
                vals[t] = v
    for name, t in zip(["conv1", "relu1", "pool1", "conv2", "relu2", "avgpool", "depthwise",
                        "batchnorm"], layers):
        assert t in vals, name
        assert nhwc_memory(vals[t]), name


def test_fetch_of_view_is_contiguous_copy():
    with tf.Graph().as_default():
        x = inp(to_nchw(X))
        y = tf.nn.conv2d(x, tf.constant(W1), [1, 1, 1, 1], "SAME", data_format="NCHW")
        t = tf.transpose(tf.constant(X), [0, 3, 1, 2])
        with tf.Session() as sess:
            yv, tv = sess.run([y, t])
            yv2 = sess.run(y)
    ref = sess_free_conv()
    np.testing.assert_allclose(yv, to_nchw(ref), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(tv, to_nchw(X))
    for v in (yv, tv, yv2):
        assert v.flags.c_contiguous and v.flags.writeable
    assert not np.shares_memory(yv, yv2)


def sess_free_conv():
    with tf.Graph().as_default():
        y = tf.nn.conv2d(inp(X), tf.constant(W1), [1, 1, 1, 1], "SAME")
        with tf.Session() as sess:
            return sess.run(y)


def test_view_through_reshape_concat_and_slices():
    ref = sess_free_conv()
    ref_nchw = to_nchw(ref)
    with tf.Graph().as_default():
        y = tf.nn.conv2d(inp(to_nchw(X)), tf.constant(W1), [1, 1, 1, 1], "SAME",
                         data_format="NCHW")
        outs = [tf.reshape(y, [2, -1]), tf.reshape(y, [-1]),
                tf.concat([y, y * 2.0], axis=1), tf.concat([y, y], axis=3),
                y[:, 3:7, ::2, 1:], tf.reduce_sum(y, [0, 2, 3]),
                tf.transpose(y, [0, 2, 3, 1]), tf.reshape(tf.transpose(y, [0, 2, 3, 1]), [2, -1]),
                tf.split(y, 2, axis=1)[1]]
        with tf.Session() as sess:
            got = sess.run(outs)
    want = [ref_nchw.reshape(2, -1), ref_nchw.reshape(-1),
            np.concatenate([ref_nchw, ref_nchw * 2], 1), np.concatenate([ref_nchw, ref_nchw], 3),
            ref_nchw[:, 3:7, ::2, 1:], ref_nchw.sum((0, 2, 3)), ref, ref.reshape(2, -1),
            ref_nchw[:, 8:]]
    for i, (g, w) in enumerate(zip(got, want)):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-4, err_msg="output %d" % i)
        assert g.flags.c_contiguous


def test_send_recv_between_cpus():
    ref = to_nchw(sess_free_conv())
    with tf.Graph().as_default():
        with tf.device("/cpu:0"):
            y = tf.nn.conv2d(inp(to_nchw(X)), tf.constant(W1), [1, 1, 1, 1], "SAME",
                             data_format="NCHW")
        with tf.device("/cpu:1"):
            z = tf.reshape(tf.nn.relu(y), [2, -1])
            p = tf.nn.max_pool(y, [1, 1, 2, 2], [1, 1, 2, 2], "VALID", data_format="NCHW")
        with tf.device("/cpu:0"):
            back = tf.concat([p, p], axis=1)
        config = tf.ConfigProto(device_count={"CPU": 2}, log_device_placement=False)
        with tf.Session(config=config) as sess:
            zv, pv, bv = sess.run([z, p, back])
    np.testing.assert_allclose(zv, np.maximum(ref, 0).reshape(2, -1), rtol=1e-5, atol=1e-5)
    pref = ref.reshape(2, 16, 6, 2, 6, 2).max(axis=(3, 5))
    np.testing.assert_allclose(pv, pref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(bv, np.concatenate([pref, pref], 1), rtol=1e-5, atol=1e-5)


def test_assign_to_variable_and_checkpoint(tmp_path):
    ref = to_nchw(sess_free_conv())
    prefix = str(tmp_path / "ckpt")
    with tf.Graph().as_default():
        v = tf.Variable(np.zeros(ref.shape, np.float32), name="v")
        y = tf.nn.conv2d(inp(to_nchw(X)), tf.constant(W1), [1, 1, 1, 1], "SAME",
                         data_format="NCHW")
        assign = tf.assign(v, y)
        add = tf.assign_add(v, y)
        saver = tf.train.Saver([v])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(assign)
            np.testing.assert_allclose(sess.run(v), ref, rtol=1e-5, atol=1e-5)
            sess.run(add)
            got = sess.run(v)
            assert got.flags.c_contiguous
            np.testing.assert_allclose(got, 2 * ref, rtol=1e-5, atol=1e-5)
            saver.save(sess, prefix)
    with tf.Graph().as_default():
        v = tf.Variable(np.zeros(ref.shape, np.float32), name="v")
        with tf.Session() as sess:
            tf.train.Saver([v]).restore(sess, prefix)
            np.testing.assert_allclose(sess.run(v), 2 * ref, rtol=1e-5, atol=1e-5)


def test_py_func_gets_c_contiguous_arrays():
    ref = to_nchw(sess_free_conv())
    seen = []

    def f(a):
        seen.append((a.flags.c_contiguous, a.flags.writeable))
        # Byte-level use that needs C order: reinterpret the buffer.
        flat = np.frombuffer(memoryview(a).cast("B"), dtype=np.float32)
        return (flat.reshape(a.shape) * 2).astype(np.float32)

    with tf.Graph().as_default():
        y = tf.nn.conv2d(inp(to_nchw(X)), tf.constant(W1), [1, 1, 1, 1], "SAME",
                         data_format="NCHW")
        z = tf.py_func(f, [y], tf.float32)
        with tf.Session() as sess:
            zv = sess.run(z)
    assert seen == [(True, True)]
    np.testing.assert_allclose(zv, 2 * ref, rtol=1e-5, atol=1e-5)


def test_wire_format_serializes_views():
    pytest.importorskip("msgpack")
    from tfnb.distribute import wire
    base = u(2, 5, 6, 3)
    view = base.transpose(0, 3, 1, 2)
    assert not view.flags.c_contiguous
    header, frames = wire._array_frames(view)
    back = wire.decode_array(header, [bytes(f) for f in frames])
    np.testing.assert_array_equal(back, view)
    assert back.shape == (2, 3, 5, 6)


def test_nhwc_kernel_wrapper_gives_views():
    calls = []

    def fn(x, other):
        calls.append(x.flags.c_contiguous)
        return x * 2.0

    k = conv_ops._nhwc_kernel(np, "NCHW", fn, (0,))
    base = u(2, 4, 5, 3)              # NHWC memory
    r = k(base.transpose(0, 3, 1, 2), None)
    assert calls == [True]            # the kernel sees contiguous NHWC
    assert r.shape == (2, 3, 4, 5) and nhwc_memory(r)
    np.testing.assert_array_equal(r, base.transpose(0, 3, 1, 2) * 2.0)
    assert conv_ops._nhwc_kernel(np, "NHWC", fn, (0,)) is fn


def test_pool_numba_inputs_not_copied_when_contiguous():
    a = u(2, 4, 4, 3)
    assert pool_ops._writable(a)[0] is a
    b = u(2, 3, 4, 4).transpose(0, 2, 3, 1)          # NCHW memory seen as NHWC: copied
    c, = pool_ops._writable(b)
    assert c.flags.c_contiguous and np.array_equal(c, b)


def test_second_derivative_through_nchw_backprops():
    """grad of a function of dL/dx (Conv2DBackpropInput/Filter in NCHW, their own grads)."""
    def run(fmt):
        with tf.Graph().as_default():
            xv = to_nchw(X) if fmt == "NCHW" else X
            x = inp(xv)
            w = tf.constant(W1)
            y = tf.nn.relu(tf.nn.conv2d(x, w, [1, 1, 2, 2] if fmt == "NCHW" else [1, 2, 2, 1],
                                        "SAME", data_format=fmt))
            gx, = tf.gradients(tf.reduce_sum(y * y), [x])
            gw, = tf.gradients(tf.reduce_sum(gx * gx), [w])
            with tf.Session() as sess:
                gxv, gwv = sess.run([gx, gw])
        return (gxv.transpose(0, 2, 3, 1) if fmt == "NCHW" else gxv), gwv
    a, b = run("NHWC"), run("NCHW")
    np.testing.assert_allclose(b[0], a[0], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(b[1], a[1], rtol=1e-4, atol=1e-3)



# ----------------------------------------------------------------------------------------------
# Fused elementwise groups (tfnb/runtime/passes/fusion.py) on NCHW views
# ----------------------------------------------------------------------------------------------
def _fusion_config(on):
    from tfnb.core.protobuf.rewriter_config_pb2 import RewriterConfig
    return tf.ConfigProto(graph_options=tf.GraphOptions(rewrite_options=RewriterConfig(
        remapping=RewriterConfig.ON if on else RewriterConfig.OFF)))


def test_memory_order_of_fused_inputs():
    from tfnb.runtime.passes import fusion
    base = u(2, 5, 6, 3)
    view = base.transpose(0, 3, 1, 2)
    other = u(2, 5, 6, 3).transpose(0, 3, 1, 2)
    row = u(1, 3, 1, 1)
    assert fusion._memory_order([view, other, row, np.float32(2)]) == (0, 2, 3, 1)
    assert fusion._memory_order([view, u(2, 3, 5, 6)]) is None      # mixed orders
    assert fusion._memory_order([u(2, 3), u(3)]) is None             # all C-contiguous
    assert fusion._memory_order([u(4, 6)[:, ::2]]) is None           # strided, no order
    assert fusion._memory_order([u(3, 4).T, u(4, 3)[::1]]) is None


def _residual(fmt, on):
    rng = np.random.default_rng(3)
    x0 = rng.standard_normal((8, 16, 16, 16), dtype=np.float32)
    if fmt == "NCHW":
        x0 = to_nchw(x0)
    ws = [rng.standard_normal((3, 3, 16, 16), dtype=np.float32) * 0.2 for _ in range(3)]
    bs = [rng.standard_normal(16, dtype=np.float32) for _ in range(2)]
    with tf.Graph().as_default():
        x = inp(x0)
        params = [tf.constant(w) for w in ws] + [tf.constant(b) for b in bs]
        h = tf.nn.relu(tf.nn.conv2d(x, params[0], [1, 1, 1, 1], "SAME", data_format=fmt))
        for w, b in zip(params[1:3], params[3:]):
            b4 = tf.reshape(b, [1, 16, 1, 1] if fmt == "NCHW" else [16])
            h = tf.nn.relu(tf.nn.conv2d(h, w, [1, 1, 1, 1], "SAME", data_format=fmt) * 0.5
                           + b4 + h)
        grads = tf.gradients(tf.reduce_sum(h * h), [x] + params)
        with tf.Session(config=_fusion_config(on)) as sess:
            hv, gv = sess.run([h, grads])
            rewrites = sess._last_plan.rewrites
    back = (lambda a: a.transpose(0, 2, 3, 1)) if fmt == "NCHW" else (lambda a: a)
    return [back(hv), back(gv[0])] + gv[1:], rewrites


@pytest.mark.parametrize("on", [True, False])
def test_fused_groups_on_nchw_views(on):
    nhwc, _ = _residual("NHWC", on)
    nchw, rewrites = _residual("NCHW", on)
    from tfnb.runtime.passes import fusion_codegen as cg
    if on and cg.available():
        assert rewrites.get("fusion", 0) >= 1
    for i, (a, b) in enumerate(zip(nchw, nhwc)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3, err_msg="value %d" % i)


def test_fused_kernel_keeps_the_memory_order(monkeypatch):
    """A fused group called on NHWC-memory views returns NHWC-memory views, same values."""
    from tfnb.runtime.passes import fusion
    from tfnb.runtime.passes import fusion_codegen as cg
    if not cg.available():
        pytest.skip("numba not installed")
    seen = []
    call = fusion.FusedKernel.__call__

    def spy(self, *xs):
        r = call(self, *xs)
        seen.append(([x.strides for x in xs if x.ndim == 4], r))
        return r
    monkeypatch.setattr(fusion.FusedKernel, "__call__", spy)
    av = u(8, 16, 16, 16).transpose(0, 3, 1, 2)
    bv = u(1, 16, 1, 1)
    with tf.Graph().as_default():
        a = tf.nn.max_pool(inp(np.ascontiguousarray(av)), [1, 1, 1, 1], [1, 1, 1, 1], "VALID",
                           data_format="NCHW")       # an NCHW view of NHWC memory
        b = tf.constant(bv)
        y = tf.nn.relu(a * 0.5 + b) * a
        with tf.Session(config=_fusion_config(True)) as sess:
            got = sess.run(y)
    # The outer call (last to return) permutes its views into the inner call's contiguous ones.
    assert len(seen) == 2
    inner_strides, inner = seen[0]
    outer_strides, r = seen[1]
    assert outer_strides[0] == (16384, 4, 1024, 64)             # the NCHW view of NHWC memory
    assert inner_strides[0] == (16384, 1024, 64, 4) and inner.flags.c_contiguous
    assert nhwc_memory(r)
    np.testing.assert_allclose(got, np.maximum(av * 0.5 + bv, 0) * av, rtol=1e-6, atol=1e-6)
    assert got.flags.c_contiguous
