"""The one shared numerical gradient checker (central differences in float64).

``check_gradients(fn, inputs)`` builds ``fn`` on float64 placeholders, forms the
scalar ``L = sum(fn(*xs) * R)`` with a fixed random ``R`` (so the whole Jacobian
is exercised, not only its row sums), and compares ``tf.gradients(L, xs)`` with
central differences of ``L``. ``order=2`` also checks the gradient of the
gradient (second derivatives).
"""
import numpy as np
import pytest

import tfnb as tf


def array_modules():
    """The array modules kernels can run on here: NumPy, and CuPy where it sees a GPU."""
    mods = [pytest.param(np, id="numpy")]
    try:
        import cupy
        cupy.zeros(1)
        mods.append(pytest.param(cupy, id="cupy"))
    except Exception:  # noqa: BLE001 - no CuPy or no GPU: NumPy only
        pass
    return mods


def _as_dense(sess, g, feed):
    if isinstance(g, tf.IndexedSlices):
        v = sess.run(g, feed)
        dense = np.zeros(v.dense_shape if v.dense_shape is not None else (), v.values.dtype)
        np.add.at(dense, v.indices, v.values)
        return dense
    return sess.run(g, feed)


def numeric_gradients(f_scalar, xs, eps):
    """Central-difference gradient of scalar ``f_scalar(list of arrays)`` at ``xs``."""
    grads = []
    for i, x in enumerate(xs):
        # Perturb a C-contiguous array in place: reshape(-1) of any other layout is a copy,
        # whose changes f_scalar would never see (a silently zero numerical gradient).
        x = xs[i] = x if x.flags.c_contiguous else x.copy(order="C")  # keeps 0-d as 0-d
        g = np.zeros(x.shape, dtype=np.float64)
        flat = x.reshape(-1)
        gflat = g.reshape(-1)
        for j in range(flat.size):
            old = flat[j]
            flat[j] = old + eps
            fp = f_scalar(xs)
            flat[j] = old - eps
            fm = f_scalar(xs)
            flat[j] = old
            gflat[j] = (fp - fm) / (2 * eps)
        grads.append(g)
    return grads


def check_gradients(fn, inputs, order=1, eps=1e-6, rtol=1e-5, atol=1e-6, seed=0, wrt=None):
    """Asserts that tfnb's symbolic gradients of ``fn`` match finite differences.

    Args:
        fn: builds the op(s) under test from float64 tensors; returns a tensor.
        inputs: list of NumPy arrays (converted to float64) at which to check.
        order: 1 for gradients; 2 also checks second derivatives.
        wrt: indices of inputs to differentiate (default: all).
    """
    xs = [np.array(x, dtype=np.float64) for x in inputs]
    wrt = list(range(len(xs))) if wrt is None else list(wrt)
    rng = np.random.RandomState(seed)
    with tf.Graph().as_default():
        phs = [tf.placeholder(tf.float64, x.shape) for x in xs]
        y = fn(*phs)
        y_shape = tuple(y.shape.as_list())
        r = tf.constant(rng.uniform(0.5, 1.5, size=y_shape))
        loss = tf.reduce_sum(y * r)
        grads = tf.gradients(loss, [phs[i] for i in wrt])
        assert all(g is not None for g in grads), "some input got no gradient: %s" % (grads,)
        second = None
        if order >= 2:
            r2 = [tf.constant(rng.uniform(0.5, 1.5, size=xs[i].shape)) for i in wrt]
            g_dot = tf.add_n([tf.reduce_sum(tf.convert_to_tensor(g) * rr) for g, rr in zip(grads, r2)])
            second = tf.gradients(g_dot, [phs[i] for i in wrt])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())  # fn may create (constant) variables

            def feed_of(vals):
                return {p: v for p, v in zip(phs, vals)}

            analytic = [_as_dense(sess, g, feed_of(xs)) for g in grads]

            def scalar(vals):
                return float(sess.run(loss, feed_of(vals)))
            numeric = numeric_gradients(scalar, xs, eps)
            for k, i in enumerate(wrt):
                np.testing.assert_allclose(analytic[k], numeric[i], rtol=rtol, atol=atol,
                                           err_msg="gradient w.r.t. input %d" % i)
            if second is not None:
                def gscalar(vals):
                    return float(sess.run(g_dot, feed_of(vals)))
                num2 = numeric_gradients(gscalar, xs, eps=1e-4)
                ana2 = [np.zeros_like(xs[i]) if s is None else _as_dense(sess, s, feed_of(xs))
                        for s, i in zip(second, wrt)]
                for k, i in enumerate(wrt):
                    np.testing.assert_allclose(ana2[k], num2[i], rtol=1e-4, atol=1e-5,
                                               err_msg="second derivative w.r.t. input %d" % i)
    return True


def run_op(fn, inputs, dtype=None):
    """Builds ``fn`` on constants of ``inputs`` and returns (value, output tensor)."""
    with tf.Graph().as_default():
        ts = [tf.constant(x) if dtype is None else tf.constant(x, dtype=dtype) for x in inputs]
        y = fn(*ts)
        with tf.Session() as sess:
            return sess.run(y), y


def eval_kernels(tensor, xp):
    """Evaluates ``tensor`` by calling each op's kernel in graph order with array module ``xp``
    (no session: the kernels alone, on NumPy or CuPy); returns a NumPy array."""
    from tfnb.runtime.state import KernelContext
    vals = {}
    ctx = KernelContext(None, xp=xp)
    for o in tensor.graph.get_operations():
        with np.errstate(all="ignore"):  # as the session runs kernels: inf/nan are values
            res = o._op_def.kernel(o, ctx)(*[vals[t] for t in o.inputs])
        for t, v in zip(o.outputs, res if len(o.outputs) != 1 else (res,)):
            vals[t] = v
    v = vals[tensor]
    return v.get() if hasattr(v, "get") else np.asarray(v)
