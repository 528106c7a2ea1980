"""tf.train optimizers vs NumPy references (dense and sparse), slots, errors, SciPy interface."""
import numpy as np
import pytest

import tfnb as tf


# ----------------------------------------------------------------------------------------------
# NumPy references: (slot initial values, step(w, slots, g, t) -> w, updating slots in place).
# Python-float hyper-parameters become float32 constants in TF1 (and tfnb), so the references
# round them the same way.
# ----------------------------------------------------------------------------------------------
def _f32(*values):
    return [float(np.float32(v)) for v in values]


def _momentum(lr, mu, nesterov=False):
    lr, mu = _f32(lr, mu)

    def step(w, s, g, t):
        s["momentum"] = mu * s["momentum"] + g
        return w - lr * (g + mu * s["momentum"]) if nesterov else w - lr * s["momentum"]
    return {"momentum": 0.0}, step


def _adagrad(lr, init):
    lr, = _f32(lr)  # the accumulators start at exactly init (variable dtype), as in TF1

    def step(w, s, g, t):
        s["accumulator"] = s["accumulator"] + g * g
        return w - lr * g / np.sqrt(s["accumulator"])
    return {"accumulator": init}, step


def _adadelta(lr, rho, eps):
    lr, rho, eps = _f32(lr, rho, eps)

    def step(w, s, g, t):
        s["accum"] = rho * s["accum"] + (1 - rho) * g * g
        upd = np.sqrt(s["accum_update"] + eps) / np.sqrt(s["accum"] + eps) * g
        s["accum_update"] = rho * s["accum_update"] + (1 - rho) * upd * upd
        return w - lr * upd
    return {"accum": 0.0, "accum_update": 0.0}, step


def _rmsprop(lr, rho, mu, eps, centered=False):
    lr, rho, mu, eps = _f32(lr, rho, mu, eps)

    def step(w, s, g, t):
        s["rms"] = rho * s["rms"] + (1 - rho) * g * g
        denom = s["rms"] + eps
        if centered:
            s["mg"] = rho * s["mg"] + (1 - rho) * g
            denom = denom - s["mg"] ** 2
        s["momentum"] = mu * s["momentum"] + lr * g / np.sqrt(denom)
        return w - s["momentum"]
    slots = {"rms": 1.0, "momentum": 0.0}
    if centered:
        slots["mg"] = 0.0
    return slots, step


def _adam(lr, b1, b2, eps):
    lr, b1, b2, eps = _f32(lr, b1, b2, eps)

    def step(w, s, g, t):
        lr_t = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        s["m"] = b1 * s["m"] + (1 - b1) * g
        s["v"] = b2 * s["v"] + (1 - b2) * g * g
        return w - lr_t * s["m"] / (np.sqrt(s["v"]) + eps)
    return {"m": 0.0, "v": 0.0}, step


def _ftrl(lr, power, init, l1, l2, shrink=0.0):
    lr, power, l1, l2, shrink = _f32(lr, power, l1, l2, shrink)  # init: exact, as in TF1

    def step(w, s, g, t):
        new = s["accum"] + g * g
        sigma = (new ** -power - s["accum"] ** -power) / lr
        s["linear"] = s["linear"] + g + 2 * shrink * w - sigma * w
        s["accum"] = new
        quad = new ** -power / lr + 2 * l2
        lin = s["linear"]
        return np.where(np.abs(lin) > l1, (l1 * np.sign(lin) - lin) / quad, 0.0)
    return {"accum": init, "linear": 0.0}, step


# id, optimizer factory, reference, sparse update touches only the gradient's rows
OPTIMIZERS = [
    ("momentum", lambda: tf.train.MomentumOptimizer(0.1, 0.9), _momentum(0.1, 0.9), True),
    ("nesterov", lambda: tf.train.MomentumOptimizer(0.1, 0.9, use_nesterov=True),
     _momentum(0.1, 0.9, True), True),
    ("adagrad", lambda: tf.train.AdagradOptimizer(0.3, initial_accumulator_value=0.2),
     _adagrad(0.3, 0.2), True),
    ("adadelta", lambda: tf.train.AdadeltaOptimizer(1.0, rho=0.9, epsilon=1e-6),
     _adadelta(1.0, 0.9, 1e-6), True),
    ("rmsprop", lambda: tf.train.RMSPropOptimizer(0.01), _rmsprop(0.01, 0.9, 0.0, 1e-10), True),
    ("rmsprop_momentum", lambda: tf.train.RMSPropOptimizer(0.01, decay=0.8, momentum=0.5,
                                                           epsilon=1e-6),
     _rmsprop(0.01, 0.8, 0.5, 1e-6), True),
    ("rmsprop_centered", lambda: tf.train.RMSPropOptimizer(0.01, momentum=0.3, epsilon=1e-6,
                                                           centered=True),
     _rmsprop(0.01, 0.9, 0.3, 1e-6, centered=True), True),
    ("adam", lambda: tf.train.AdamOptimizer(0.05, beta1=0.8, beta2=0.9, epsilon=1e-4),
     _adam(0.05, 0.8, 0.9, 1e-4), False),
    ("ftrl", lambda: tf.train.FtrlOptimizer(0.5, l1_regularization_strength=0.01,
                                            l2_regularization_strength=0.1),
     _ftrl(0.5, -0.5, 0.1, 0.01, 0.1), True),
    ("ftrl_power_shrinkage", lambda: tf.train.FtrlOptimizer(
        0.5, learning_rate_power=-0.7, initial_accumulator_value=0.3,
        l1_regularization_strength=0.05, l2_shrinkage_regularization_strength=0.1),
     _ftrl(0.5, -0.7, 0.3, 0.05, 0.0, shrink=0.1), True),
]
IDS = [row[0] for row in OPTIMIZERS]
STEPS = 4


def _run_dense(make, dtype, w0, grads):
    w = tf.Variable(w0)
    g = tf.placeholder(dtype, w0.shape)
    opt = make()
    train = opt.apply_gradients([(g, w)])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for gv in grads:
            sess.run(train, {g: gv})
        return opt, sess.run(w), {n: sess.run(opt.get_slot(w, n)) for n in opt.get_slot_names()}


@pytest.mark.parametrize("name,make,ref,rows_only", OPTIMIZERS, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_updates_match_numpy(name, make, ref, rows_only, dtype):
    rng = np.random.RandomState(0)
    w0 = rng.randn(4, 3).astype(dtype)
    grads = [rng.randn(4, 3).astype(dtype) for _ in range(STEPS)]
    opt, w, slots = _run_dense(make, dtype, w0, grads)
    init, step = ref
    s_ref = {k: np.full(w0.shape, v, np.float64) for k, v in init.items()}
    w_ref = w0.astype(np.float64)
    for t, g in enumerate(grads, 1):
        w_ref = step(w_ref, s_ref, g.astype(np.float64), t)
    tol = dict(rtol=2e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-6, atol=1e-9)
    assert w.dtype == dtype
    np.testing.assert_allclose(w, w_ref, **tol)
    assert opt.get_slot_names() == sorted(init)
    for k in init:
        assert slots[k].dtype == dtype
        np.testing.assert_allclose(slots[k], s_ref[k], err_msg=k, **tol)


@pytest.mark.parametrize("name,make,ref,rows_only", OPTIMIZERS, ids=IDS)
def test_sparse_updates_through_gather(name, make, ref, rows_only):
    """Embedding rows: gather's IndexedSlices gradient, duplicates summed, other rows untouched."""
    rng = np.random.RandomState(1)
    w0 = rng.randn(6, 3).astype(np.float32)
    ids = np.array([4, 1, 4, 0], np.int32)
    weights = [rng.randn(4, 3).astype(np.float32) for _ in range(STEPS)]
    w = tf.Variable(w0)
    c = tf.placeholder(tf.float32, [4, 3])
    loss = tf.reduce_sum(tf.gather(w, ids) * c)
    opt = make()
    (grad, _), = opt.compute_gradients(loss, var_list=[w])
    assert isinstance(grad, tf.IndexedSlices)
    train = opt.apply_gradients([(grad, w)])
    types = {o.type for o in train.graph.get_operations()}
    assert any(t.startswith("ResourceSparseApply") for t in types)
    assert not any(t.startswith("ResourceApply") for t in types)
    init, step = ref
    s_ref = {k: np.full(w0.shape, v, np.float64) for k, v in init.items()}
    w_ref = w0.astype(np.float64)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for t, cv in enumerate(weights, 1):
            sess.run(train, {c: cv})
            dense = np.zeros(w0.shape)
            np.add.at(dense, ids, cv)
            if rows_only:
                rows = np.unique(ids)
                s_rows = {k: v[rows] for k, v in s_ref.items()}
                w_ref[rows] = step(w_ref[rows], s_rows, dense[rows], t)
                for k in s_ref:
                    s_ref[k][rows] = s_rows[k]
            else:
                w_ref = step(w_ref, s_ref, dense, t)
        np.testing.assert_allclose(sess.run(w), w_ref, rtol=2e-5, atol=1e-6)
        for k in init:
            np.testing.assert_allclose(sess.run(opt.get_slot(w, k)), s_ref[k], rtol=2e-5,
                                       atol=1e-6, err_msg=k)
    if rows_only:
        untouched = [2, 3, 5]
        np.testing.assert_array_equal(w_ref[untouched], w0[untouched])


def test_sparse_apply_gradients_with_constructed_indexed_slices():
    w = tf.Variable(np.ones((4, 2), np.float32))
    values = tf.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    grad = tf.IndexedSlices(values, tf.constant([2, 0, 2], tf.int64), tf.constant([4, 2]))
    opt = tf.train.MomentumOptimizer(0.5, 0.0)
    train = opt.apply_gradients([(grad, w)])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train)
        np.testing.assert_allclose(sess.run(w), [[-0.5, -1.0], [1, 1], [-2, -3], [1, 1]])
        np.testing.assert_allclose(sess.run(opt.get_slot(w, "momentum")),
                                   [[3, 4], [0, 0], [6, 8], [0, 0]])


def test_bad_sparse_index_fails_and_rolls_back():
    w = tf.Variable(np.ones((3, 2), np.float32))
    idx = tf.placeholder(tf.int32, [2])
    grad = tf.IndexedSlices(tf.ones([2, 2]), idx, tf.constant([3, 2]))
    opt = tf.train.AdagradOptimizer(0.1)
    train = opt.apply_gradients([(grad, w)])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"index 7 is not in \[0, 3\)"):
            sess.run(train, {idx: [0, 7]})
        np.testing.assert_array_equal(sess.run(w), np.ones((3, 2)))
        sess.run(train, {idx: [0, 0]})
        acc = sess.run(opt.get_slot(w, "accumulator"))
        np.testing.assert_allclose(acc[:, 0], [4.1, 0.1, 0.1], rtol=1e-6)


def test_slot_variable_names_follow_tf1():
    w = tf.Variable([1.0, 2.0], name="w")
    loss = tf.reduce_sum(w * w)
    expected = {
        tf.train.AdamOptimizer(0.1): {"m": "w/Adam:0", "v": "w/Adam_1:0"},
        tf.train.RMSPropOptimizer(0.1, centered=True): {
            "rms": "w/RMSProp:0", "mg": "w/RMSProp_1:0", "momentum": "w/RMSProp_2:0"},
        tf.train.FtrlOptimizer(0.1): {"accum": "w/Ftrl:0", "linear": "w/Ftrl_1:0"},
        tf.train.AdadeltaOptimizer(): {"accum": "w/Adadelta:0", "accum_update": "w/Adadelta_1:0"},
        tf.train.MomentumOptimizer(0.1, 0.9): {"momentum": "w/Momentum:0"},
        tf.train.AdagradOptimizer(0.1): {"accumulator": "w/Adagrad:0"},
    }
    for opt, slots in expected.items():
        opt.minimize(loss)
        assert opt.get_slot_names() == sorted(slots)
        assert {n: opt.get_slot(w, n).name for n in slots} == slots
        for n in slots:
            slot = opt.get_slot(w, n)
            assert not slot.trainable and slot in tf.global_variables()
    assert tf.trainable_variables() == [w]


def test_adam_beta_powers_are_shared_non_slot_variables():
    a = tf.Variable([1.0, -1.0], name="a")
    b = tf.Variable(2.0, name="b")
    loss = tf.reduce_sum(a * a) + b * b
    opt = tf.train.AdamOptimizer(0.1, beta1=0.5, beta2=0.75)
    train = opt.minimize(loss)
    b1, b2 = opt._get_beta_accumulators()
    assert (b1.name, b2.name) == ("beta1_power:0", "beta2_power:0")
    assert [v.name for v in opt.variables()] == [
        "a/Adam:0", "a/Adam_1:0", "b/Adam:0", "b/Adam_1:0", "beta1_power:0", "beta2_power:0"]
    other = tf.train.AdamOptimizer(0.1)
    other.minimize(loss)
    assert other._get_beta_accumulators()[0].name == "beta1_power_1:0"
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(3):
            sess.run(train)
        np.testing.assert_allclose(sess.run([b1, b2]), [0.5 ** 4, 0.75 ** 4])


def test_minimize_var_list_and_global_step():
    a = tf.Variable(3.0)
    b = tf.Variable(3.0)
    step = tf.train.get_or_create_global_step()
    train = tf.train.RMSPropOptimizer(0.1, momentum=0.5).minimize(a * a + b * b, global_step=step,
                                                                  var_list=[a])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(3):
            sess.run(train)
        assert sess.run(step) == 3
        assert sess.run(b) == 3.0
        assert sess.run(a) < 3.0
    assert train in tf.get_collection(tf.GraphKeys.TRAIN_OP)


def test_adam_minimizes_a_quadratic():
    target = np.array([1.0, -2.0, 0.5], np.float32)
    w = tf.Variable(tf.zeros([3]))
    loss = tf.reduce_sum(tf.square(w - target))
    train = tf.train.AdamOptimizer(0.1).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(300):
            sess.run(train)
        np.testing.assert_allclose(sess.run(w), target, atol=1e-2)


def test_hyperparameters_may_be_tensors_schedules_or_callables():
    w = tf.Variable(1.0)
    lr = tf.placeholder(tf.float32, [])
    mu = tf.constant(0.5)
    train = tf.train.MomentumOptimizer(lr, mu).minimize(w * w)  # grad 2w
    step = tf.Variable(0, trainable=False, dtype=tf.int64)
    w2 = tf.Variable(1.0)
    decayed = tf.train.exponential_decay(0.5, step, 1, 0.5)
    train2 = tf.train.AdagradOptimizer(decayed, 1.0).minimize(w2 * 1.0, global_step=step)
    w3 = tf.Variable(1.0)
    train3 = tf.train.RMSPropOptimizer(lambda: tf.constant(0.1), decay=0.0, epsilon=0.0).minimize(
        w3 * 1.0)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train, {lr: 0.25})  # accum = 2, w = 1 - 0.5
        sess.run(train, {lr: 0.1})   # accum = 0.5*2 + 1 = 2, w = 0.5 - 0.2
        assert sess.run(w) == pytest.approx(0.3)
        sess.run(train2)
        sess.run(train2)  # lr 0.5 then 0.25; accum 2 then 3
        assert sess.run(w2) == pytest.approx(1 - 0.5 / np.sqrt(2) - 0.25 / np.sqrt(3), rel=1e-6)
        sess.run(train3)
        assert sess.run(w3) == pytest.approx(0.9)


@pytest.mark.parametrize("make", [
    lambda lr: tf.train.AdamOptimizer(lr),
    lambda lr: tf.train.MomentumOptimizer(lr, 0.9),
    lambda lr: tf.train.RMSPropOptimizer(lr),
    lambda lr: tf.train.FtrlOptimizer(lr),
    lambda lr: tf.train.AdagradOptimizer(lr),
    lambda lr: tf.train.AdadeltaOptimizer(lr),
], ids=["adam", "momentum", "rmsprop", "ftrl", "adagrad", "adadelta"])
def test_non_float_learning_rate_tensor_is_rejected_at_construction(make):
    with pytest.raises(TypeError, match="learning_rate must be a floating-point Tensor.*int32"):
        make(tf.constant(1))
    with pytest.raises(TypeError, match="learning_rate"):
        make("fast")
    make(1)  # a Python int is a valid rate


def test_invalid_hyperparameter_values():
    with pytest.raises(ValueError, match="initial_accumulator_value must be positive"):
        tf.train.AdagradOptimizer(0.1, initial_accumulator_value=0.0)
    with pytest.raises(ValueError, match="l1_regularization_strength"):
        tf.train.FtrlOptimizer(0.1, l1_regularization_strength=-1.0)
    with pytest.raises(ValueError, match="learning_rate_power"):
        tf.train.FtrlOptimizer(0.1, learning_rate_power=0.5)
    with pytest.raises(TypeError, match="momentum must be a floating-point Tensor"):
        tf.train.MomentumOptimizer(0.1, tf.constant(True))


def test_update_ops_check_shapes_and_dtypes_at_construction():
    w = tf.Variable(np.zeros((2, 3), np.float32))
    opt = tf.train.AdamOptimizer()
    with pytest.raises(ValueError, match=r"gradient shape \(3, 2\) does not match"):
        opt.apply_gradients([(tf.zeros([3, 2]), w)])
    bad_rows = tf.IndexedSlices(tf.zeros([2, 4]), tf.constant([0, 1]), tf.constant([2, 3]))
    with pytest.raises(ValueError, match="does not match variable shape"):
        tf.train.MomentumOptimizer(0.1, 0.9).apply_gradients([(bad_rows, w)])
    f64 = tf.IndexedSlices(tf.zeros([2, 3], tf.float64), tf.constant([0, 1]), tf.constant([2, 3]))
    with pytest.raises(TypeError, match="gradient has dtype float64"):
        tf.train.AdagradOptimizer(0.1).apply_gradients([(f64, w)])
    float_idx = tf.IndexedSlices(tf.zeros([2, 3]), tf.constant([0.0, 1.0]), tf.constant([2, 3]))
    with pytest.raises(TypeError, match="indices must be int32 or int64"):
        tf.train.FtrlOptimizer(0.1).apply_gradients([(float_idx, w)])
    with pytest.raises(ValueError, match="lr is not a scalar"):
        tf.train.RMSPropOptimizer(tf.constant([0.1, 0.2])).apply_gradients([(tf.zeros([2, 3]), w)])


def test_optimizers_in_an_interactive_session():
    sess = tf.InteractiveSession()
    try:
        w = tf.Variable([1.0, 2.0])
        train = tf.train.AdamOptimizer(0.1).minimize(tf.reduce_sum(w * w))
        sess.run(tf.global_variables_initializer())
        sess.run(train)
        np.testing.assert_allclose(w.eval(), [0.9, 1.9], rtol=1e-5)
    finally:
        sess.close()


# ----------------------------------------------------------------------------------------------
# External optimizer (SciPy)
# ----------------------------------------------------------------------------------------------
def test_scipy_lbfgs_solves_least_squares():
    pytest.importorskip("scipy")
    rng = np.random.RandomState(3)
    a_np = rng.randn(12, 3).astype(np.float32)
    y_np = rng.randn(12).astype(np.float32)
    x = tf.placeholder(tf.float32, [None, 3])
    y = tf.placeholder(tf.float32, [None])
    w = tf.Variable(tf.zeros([3, 1]))
    b = tf.Variable(0.0)
    loss = tf.reduce_sum(tf.square(tf.reshape(tf.matmul(x, w), [-1]) + b - y))
    opt = tf.train.ScipyOptimizerInterface(loss, options={"maxiter": 200})
    losses, steps = [], []
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        opt.minimize(sess, feed_dict={x: a_np, y: y_np}, fetches=[loss],
                     loss_callback=losses.append, step_callback=steps.append)
        got = np.append(sess.run(w).ravel(), sess.run(b))
    want = np.linalg.lstsq(np.c_[a_np, np.ones(12)], y_np, rcond=None)[0]
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4)
    assert losses and losses[-1] <= losses[0] and steps and steps[-1].shape == (4,)


def test_scipy_bounds_and_constraints():
    pytest.importorskip("scipy")
    v = tf.Variable([1.0, 1.0])
    loss = tf.reduce_sum(tf.square(v))
    bounded = tf.train.ScipyOptimizerInterface(loss, var_to_bounds={v: ([0.5, -1.0], np.inf)})
    constrained = tf.train.ScipyOptimizerInterface(
        loss, inequalities=[v[0] + v[1] - 1.0], method="SLSQP")
    with tf.Session() as sess:
        sess.run(v.initializer)
        bounded.minimize(sess)
        np.testing.assert_allclose(sess.run(v), [0.5, 0.0], atol=1e-6)
        sess.run(v.initializer)
        constrained.minimize(sess)
        np.testing.assert_allclose(sess.run(v), [0.5, 0.5], atol=1e-5)
    with pytest.raises(ValueError, match="var_to_bounds"):
        with tf.Session() as sess:
            sess.run(v.initializer)
            tf.train.ScipyOptimizerInterface(loss, bounds=[(0, 1)] * 2).minimize(sess)


def test_scipy_interface_writes_variables_read_other_than_by_value():
    """A loss that uses the variable's handle directly is evaluated by writing the variable."""
    pytest.importorskip("scipy")
    v = tf.Variable([3.0, -2.0])
    flag = tf.cast(tf.is_variable_initialized(v), tf.float32)
    loss = tf.reduce_sum(tf.square(v - 1.0)) * flag
    opt = tf.train.ScipyOptimizerInterface(loss)
    with tf.Session() as sess:
        sess.run(v.initializer)
        opt.minimize(sess)
        np.testing.assert_allclose(sess.run(v), [1.0, 1.0], atol=1e-5)
