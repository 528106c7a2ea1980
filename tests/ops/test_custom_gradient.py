"""Extending differentiation as TF1 users did: tf.RegisterGradient + gradient_override_map,
tf.custom_gradient, tf.NotDifferentiable / tf.no_gradient, and the public op registry
(tf.register_op) with the README's "Adding an op" example."""
import itertools
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import tfnb as tf
from gradcheck import check_gradients

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_ids = itertools.count()


def _fresh(prefix):
    """A name no other test (or rerun) registered: the registries are process-wide, as TF1's."""
    return "%s_%d_%d" % (prefix, os.getpid(), next(_ids))


# ----------------------------------------------------------------------------------------------
# tf.RegisterGradient + Graph.gradient_override_map
# ----------------------------------------------------------------------------------------------
def test_override_replaces_a_builtin_gradient_checked_numerically():
    name = _fresh("TanhViaCosh")

    @tf.RegisterGradient(name)
    def _tanh_grad(op, dy):  # the true derivative, written differently: 1 / cosh(x)^2
        return [dy / tf.square(tf.cosh(op.inputs[0]))]

    calls = []

    def fn(x):
        with tf.get_default_graph().gradient_override_map({"Tanh": name}):
            y = tf.tanh(x)
        calls.append(y.op.get_attr("_gradient_op_type"))
        return y * x
    check_gradients(fn, [np.random.RandomState(1).randn(3, 2)], order=2)
    assert calls == [name]


def test_override_is_recorded_at_creation_and_used_outside_the_block():
    name = _fresh("TimesTen")

    @tf.RegisterGradient(name)
    def _times_ten(op, dy):
        return [10.0 * dy]

    x = tf.constant([1.0, 2.0])
    g = tf.get_default_graph()
    with g.gradient_override_map({"Identity": name}):
        y = tf.identity(x)
    plain = tf.identity(x)  # created after the block: its own gradient
    (gy,) = tf.gradients(tf.reduce_sum(y * y), x)  # tf.gradients called outside the block
    (gp,) = tf.gradients(tf.reduce_sum(plain * plain), x)
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(gy), [20.0, 40.0])
        np.testing.assert_allclose(sess.run(gp), [2.0, 4.0])
    assert "_gradient_op_type" not in plain.op.attrs


def test_override_map_nests_and_restores_and_checks_types():
    g = tf.get_default_graph()
    a, b = _fresh("A"), _fresh("B")
    with g.gradient_override_map({"Identity": a}):
        with g.gradient_override_map({"Identity": b, "Neg": a}):
            inner = tf.identity(1.0)
            neg = tf.negative(1.0)
        outer = tf.identity(1.0)
    after = tf.identity(1.0)
    assert inner.op.get_attr("_gradient_op_type") == b
    assert neg.op.get_attr("_gradient_op_type") == a
    assert outer.op.get_attr("_gradient_op_type") == a
    assert "_gradient_op_type" not in after.op.attrs
    with pytest.raises(TypeError, match="strings to strings"):
        with g.gradient_override_map({"Identity": 3}):
            pass
    with pytest.raises(TypeError, match="strings to strings"):
        with g.gradient_override_map([("Identity", a)]):
            pass


def test_override_map_applies_inside_function_bodies():
    name = _fresh("Triple")

    @tf.RegisterGradient(name)
    def _triple(op, dy):
        return [3.0 * dy]

    x = tf.constant(2.0)
    with tf.get_default_graph().gradient_override_map({"Identity": name}):
        y = tf.while_loop(lambda i, v: i < 2, lambda i, v: (i + 1, tf.identity(v) * v),
                          [tf.constant(0), x])[1]
    (g,) = tf.gradients(y, x)
    with tf.Session() as sess:
        # v1 = 3-scaled identity of v0 times v0 ... each step: d(v*v)/dv with one factor scaled 3x
        assert sess.run(y) == 16.0
        assert sess.run(g) == pytest.approx(4 * 4 * 8.0)


def test_override_to_an_unregistered_name_raises_lookup_error():
    x = tf.constant(1.0)
    with tf.get_default_graph().gradient_override_map({"Identity": _fresh("Nowhere")}):
        y = tf.identity(x, name="lost")
    with pytest.raises(LookupError, match=r"No gradient defined for operation 'lost' "
                                          r"\(op type: Identity\)"):
        tf.gradients(y, x)


def test_registering_a_name_twice_is_a_key_error_as_tf1():
    name = _fresh("Twice")
    tf.RegisterGradient(name)(lambda op, dy: [dy])
    with pytest.raises(KeyError, match="Registering two gradient with name '%s'" % name):
        tf.RegisterGradient(name)(lambda op, dy: [dy])
    with pytest.raises(KeyError, match="Registering two gradient with name 'Sin'"):
        tf.RegisterGradient("Sin")(lambda op, dy: [dy])  # built-in ops have theirs
    with pytest.raises(TypeError, match="op_type must be a string"):
        tf.RegisterGradient(7)


# ----------------------------------------------------------------------------------------------
# tf.NotDifferentiable / tf.no_gradient, and ops registered without a gradient
# ----------------------------------------------------------------------------------------------
def _register_plain_op(name):
    return tf.register_op(name, infer=lambda op: [(op.inputs[0].dtype, op.inputs[0].shape)],
                          kernel=lambda op, ctx: lambda x: x * 2)


def test_not_differentiable_turns_a_lookup_error_into_none():
    assert tf.NotDifferentiable is tf.no_gradient is tf.NoGradient
    name = _fresh("NoGradYet")
    double = _register_plain_op(name)
    x = tf.constant([1.0, 2.0])
    y = double(x, name="doubled")
    with pytest.raises(LookupError, match=r"No gradient defined for operation 'doubled' "
                                          r"\(op type: %s\)" % name):
        tf.gradients(y, x)
    tf.NotDifferentiable(name)
    assert tf.gradients(y, x) == [None]
    (g,) = tf.gradients(y + x, x)  # the other path still has its gradient
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(g), [1.0, 1.0])
    with pytest.raises(KeyError, match="Registering two gradient"):
        tf.no_gradient(name)
    with pytest.raises(KeyError, match="Registering two gradient with name 'Sin'"):
        tf.NotDifferentiable("Sin")


def test_register_gradient_for_an_op_type_without_one():
    name = _fresh("GradLater")
    double = _register_plain_op(name)

    @tf.RegisterGradient(name)
    def _double_grad(op, dy):
        return [2.0 * dy]

    def fn(x):
        y = double(x)
        y.set_shape(x.shape)
        return tf.sin(y)
    check_gradients(fn, [np.random.RandomState(2).randn(4)])


# ----------------------------------------------------------------------------------------------
# tf.custom_gradient
# ----------------------------------------------------------------------------------------------
@tf.custom_gradient
def log1pexp(x):
    e = tf.exp(x)

    def grad(dy):
        return dy * (1 - 1 / (1 + e))
    return tf.log(1 + e), grad


def test_log1pexp_gradient_is_stable_and_matches_finite_differences():
    x = tf.constant(100.0)
    naive = tf.log(1 + tf.exp(x))
    (g_custom,) = tf.gradients(log1pexp(x), x)
    (g_naive,) = tf.gradients(naive, x)
    with tf.Session() as sess:
        assert sess.run(g_custom) == 1.0
        assert np.isnan(sess.run(g_naive))  # inf / inf: why the custom gradient exists
    check_gradients(log1pexp, [np.linspace(-5.0, 5.0, 7)])


@tf.custom_gradient
def clip_gradient_by_norm(x, norm):
    y = tf.identity(x)

    def grad(dy):
        return [tf.clip_by_norm(dy, norm), None]
    return y, grad


def test_clip_gradient_by_norm_forward_is_identity_and_gradient_is_clipped():
    x = tf.placeholder(tf.float64, [3])
    scale = tf.placeholder(tf.float64, [])
    y = clip_gradient_by_norm(x, tf.constant(1.0, tf.float64))
    (g,) = tf.gradients(tf.reduce_sum(y * scale * tf.constant([3.0, 4.0, 0.0], tf.float64)), x)
    v = np.array([0.3, -2.0, 5.0])
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(y, {x: v}), v)
        # dy = scale * [3, 4, 0]: norm 5 * scale, clipped to norm 1 when larger
        np.testing.assert_allclose(sess.run(g, {x: v, scale: 1.0}), [0.6, 0.8, 0.0])
        np.testing.assert_allclose(sess.run(g, {x: v, scale: 0.1}), [0.3, 0.4, 0.0])
    # below the clip norm it is the true gradient of the identity
    check_gradients(lambda a: 0.01 * clip_gradient_by_norm(a, tf.constant(10.0, tf.float64)),
                    [v])


def test_custom_gradient_several_inputs_and_outputs():
    @tf.custom_gradient
    def prod_and_sum(a, b):
        def grad(dp, ds):
            return dp * b + ds, dp * a + ds
        return (a * b, a + b), grad

    def fn(a, b):
        p, s = prod_and_sum(a, b)
        return tf.sin(p) + s * s
    rng = np.random.RandomState(3)
    check_gradients(fn, [rng.randn(2, 2), rng.randn(2, 2)])
    a = tf.constant([2.0])
    p, s = prod_and_sum(a, tf.constant([3.0]))
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run([p, s]), [[6.0], [5.0]])


def test_ops_inside_the_function_get_no_gradient_of_their_own():
    @tf.custom_gradient
    def fake_square(x):
        def grad(dy):
            return dy * 100.0
        return x * x, grad

    x = tf.constant(3.0)
    (g,) = tf.gradients(fake_square(x), x)
    with tf.Session() as sess:
        assert sess.run(g) == 100.0  # not 6 + 100


def test_custom_gradient_with_variables_matches_finite_differences():
    rng = np.random.RandomState(5)
    w0 = rng.randn(3, 2)
    w = tf.Variable(w0, name="w")
    untrainable = tf.Variable(np.ones(2), trainable=False, name="u")

    @tf.custom_gradient
    def dense_tanh(x):
        pre = tf.matmul(x, w) * untrainable
        y = tf.tanh(pre)

        def grad(dy, variables=None):
            assert variables == [w]  # trainable variables read inside, not the inputs
            dpre = dy * (1 - y * y) * untrainable
            return tf.matmul(dpre, w, transpose_b=True), [tf.matmul(x, dpre, transpose_a=True)]
        return y, grad

    x = tf.placeholder(tf.float64, [4, 3])
    loss = tf.reduce_sum(dense_tanh(x) * tf.constant(rng.randn(4, 2)))
    gx, gw = tf.gradients(loss, [x, w])
    xv = rng.randn(4, 3)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())

        def loss_at(xval, wval):
            w.load(wval, sess)
            return sess.run(loss, {x: xval})
        ana_x, ana_w = sess.run([gx, gw], {x: xv})
        eps = 1e-6
        num_w = np.zeros_like(w0)
        for i in np.ndindex(w0.shape):
            d = np.zeros_like(w0)
            d[i] = eps
            num_w[i] = (loss_at(xv, w0 + d) - loss_at(xv, w0 - d)) / (2 * eps)
        num_x = np.zeros_like(xv)
        for i in np.ndindex(xv.shape):
            d = np.zeros_like(xv)
            d[i] = eps
            num_x[i] = (loss_at(xv + d, w0) - loss_at(xv - d, w0)) / (2 * eps)
    np.testing.assert_allclose(ana_w, num_w, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ana_x, num_x, rtol=1e-5, atol=1e-7)


def test_custom_gradient_variables_drive_an_optimizer():
    w = tf.Variable([1.0, -2.0])

    @tf.custom_gradient
    def scaled(x):
        def grad(dy, variables=None):
            return dy * w, [dy * x * 0.5]  # half the true gradient for w
        return x * w, grad

    loss = tf.reduce_sum(scaled(tf.constant([2.0, 4.0])))
    train = tf.train.GradientDescentOptimizer(1.0).minimize(loss)
    with tf.Session() as sess:
        sess.run(w.initializer)
        sess.run(train)
        np.testing.assert_allclose(sess.run(w), [0.0, -4.0])


def test_custom_gradient_errors_as_tf1():
    v = tf.Variable(1.0)

    @tf.custom_gradient
    def reads_variable(x):
        return x * v, lambda dy: dy * v

    with pytest.raises(TypeError, match="grad_fn must accept a keyword argument 'variables'"):
        reads_variable(tf.constant(1.0))

    @tf.custom_gradient
    def ident(x):
        return tf.identity(x), lambda dy: dy

    with pytest.raises(ValueError, match="keywords arguments only when eager"):
        ident(x=tf.constant(1.0))

    @tf.custom_gradient
    def wrong_count(a, b):
        return a + b, lambda dy: dy

    y = wrong_count(tf.constant(1.0), tf.constant(2.0))
    with pytest.raises(ValueError, match="returned 1 gradients for 2 inputs"):
        tf.gradients(y, y.op.inputs[-1])


def test_custom_gradient_in_an_interactive_session():
    g = tf.Graph()
    with g.as_default():
        sess = tf.InteractiveSession(graph=g, eager=True)
        try:
            x = tf.constant([0.0, 50.0, 100.0])
            y = log1pexp(x)
            np.testing.assert_allclose(y.numpy()[:2], [np.log(2.0), 50.0], rtol=1e-6)
            (gx,) = tf.gradients(y, x)
            np.testing.assert_allclose(gx.numpy(), [0.5, 1.0, 1.0], rtol=1e-6)
        finally:
            sess.close()


# ----------------------------------------------------------------------------------------------
# The public op registry and the README's "Adding an op" example
# ----------------------------------------------------------------------------------------------
def _readme_blocks():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    section = text.split("## Adding an op", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_readme_definition_block_defines_a_working_op():
    definition, usage = _readme_blocks()
    assert "tf.register_op(" in definition and "_log_cosh_grad" in definition
    ns = {}
    exec(compile(definition, "README.md", "exec"), ns)  # noqa: S102 - our own README
    exec(compile(definition, "README.md", "exec"), ns)  # noqa: S102 - a cell run twice
    log_cosh = ns["log_cosh"]
    v = np.array([-30.0, -1.5, 0.0, 0.3, 2.0, 400.0])
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(log_cosh(tf.constant(v))),
                                   np.logaddexp(v, -v) - np.log(2.0), rtol=1e-12)
    check_gradients(log_cosh, [np.random.RandomState(6).randn(2, 3)], order=2)
    with pytest.raises(TypeError, match="LogCosh needs a float tensor, got int32"):
        log_cosh(tf.constant([1, 2]))


def test_readme_example_runs_as_written():
    definition, usage = _readme_blocks()
    checks = """
import numpy as np
v = np.array([-30.0, 0.0, 2.0])
np.testing.assert_allclose(y_val, np.logaddexp(v, -v) - np.log(2.0), rtol=1e-6)
np.testing.assert_allclose(g_val, np.tanh(v), rtol=1e-6)
np.testing.assert_allclose(h_val, 1 - np.tanh(v) ** 2, rtol=1e-5, atol=1e-7)
assert tf.executing_eagerly() and "numpy=" in repr(z)
np.testing.assert_allclose(z.numpy(), np.log(np.cosh([1.0, -1.0])), rtol=1e-6)
print("README OK")
"""
    out = subprocess.run([sys.executable, "-c", definition + "\n" + usage + checks],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "README OK" in out.stdout


def test_register_op_refuses_a_second_definition_unless_replaced():
    name = _fresh("Twin")
    first = _register_plain_op(name)
    with pytest.raises(KeyError, match="registered twice"):
        _register_plain_op(name)
    old = first(tf.constant([1.0]))
    second = tf.register_op(name, infer=lambda op: [(op.inputs[0].dtype, op.inputs[0].shape)],
                            kernel=lambda op, ctx: lambda x: x * 3, replace=True)
    new = second(tf.constant([1.0]))
    with tf.Session() as sess:  # nodes keep the rules they were created with
        assert sess.run(old)[0] == 2.0 and sess.run(new)[0] == 3.0
    with pytest.raises(TypeError, match="non-empty string"):
        tf.register_op("", infer=None, kernel=None)


def test_op_def_call_returns_tensor_list_or_operation():
    name = _fresh("Split2")
    split2 = tf.register_op(
        name, infer=lambda op: [(op.inputs[0].dtype, [None])] * 2,
        kernel=lambda op, ctx: lambda x: (x[: op.get_attr("k")], x[op.get_attr("k"):]))
    a, b = split2(np.array([1.0, 2.0, 3.0]), k=1, name="parts")
    assert a.op.name == "parts" and a.op.get_attr("k") == 1
    sink = tf.register_op(_fresh("Sink"), infer=lambda op: [],
                          kernel=lambda op, ctx: lambda x: None, stateful=True, side_effects=True)
    op = sink(a)
    assert isinstance(op, tf.Operation)
    with tf.Session() as sess:
        av, bv = sess.run([a, b])
        sess.run(op)
    np.testing.assert_array_equal(av, [1.0])
    np.testing.assert_array_equal(bv, [2.0, 3.0])


def test_custom_gradient_with_a_variable_inside_a_while_loop_body():
    w = tf.Variable(2.0)

    @tf.custom_gradient
    def times_w(x):
        def grad(dy, variables=None):
            return dy * w, [dy * x]
        return x * w, grad

    r = tf.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, times_w(v)),
                      [tf.constant(0), tf.constant(1.5)])[1]
    (gw,) = tf.gradients(r, w)
    with tf.Session() as sess:
        sess.run(w.initializer)
        assert sess.run(r) == 12.0  # 1.5 w^3
        assert sess.run(gw) == 18.0  # 4.5 w^2
