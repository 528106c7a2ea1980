"""Learning-rate schedules, the global step and ExponentialMovingAverage vs NumPy references."""
import math

import numpy as np
import pytest

import tfnb as tf

STEPS = list(range(0, 41, 3))


def _poly(step, lr, n, end, power, cycle):
    if cycle:
        n = n * (1.0 if step == 0 else math.ceil(step / n))
    else:
        step = min(step, n)
    return (lr - end) * (1 - step / n) ** power + end


def _sgdr(step, lr, first, t_mul, m_mul, alpha):
    frac = step / first
    if t_mul == 1.0:
        i = math.floor(frac)
        frac -= i
    else:
        i = math.floor(math.log(1 - frac * (1 - t_mul)) / math.log(t_mul))
        frac = (frac - (1 - t_mul ** i) / (1 - t_mul)) / t_mul ** i
    return lr * ((1 - alpha) * 0.5 * m_mul ** i * (1 + math.cos(math.pi * frac)) + alpha)


def _lincos(step, lr, n, periods, alpha, beta):
    s = min(step, n)
    cosine = 0.5 * (1 + math.cos(math.pi * 2 * periods * s / n))
    return lr * ((alpha + (n - s) / n) * cosine + beta)


# id, schedule of the step tensor, NumPy reference of the step
SCHEDULES = [
    ("exponential", lambda s: tf.train.exponential_decay(0.1, s, 7, 0.5),
     lambda s: 0.1 * 0.5 ** (s / 7)),
    ("exponential_staircase", lambda s: tf.train.exponential_decay(0.1, s, 7, 0.5, staircase=True),
     lambda s: 0.1 * 0.5 ** (s // 7)),
    ("piecewise_constant", lambda s: tf.train.piecewise_constant(s, [5, 10, 20],
                                                                 [1.0, 0.5, 0.25, 0.1]),
     lambda s: 1.0 if s <= 5 else 0.5 if s <= 10 else 0.25 if s <= 20 else 0.1),
    ("polynomial", lambda s: tf.train.polynomial_decay(0.1, s, 10, 0.01, power=2.0),
     lambda s: _poly(s, 0.1, 10, 0.01, 2.0, False)),
    ("polynomial_cycle", lambda s: tf.train.polynomial_decay(0.1, s, 10, 0.01, power=0.5,
                                                             cycle=True),
     lambda s: _poly(s, 0.1, 10, 0.01, 0.5, True)),
    ("natural_exp", lambda s: tf.train.natural_exp_decay(0.1, s, 5, 0.3),
     lambda s: 0.1 * math.exp(-0.3 * s / 5)),
    ("natural_exp_staircase", lambda s: tf.train.natural_exp_decay(0.1, s, 5, 0.3, staircase=True),
     lambda s: 0.1 * math.exp(-0.3 * (s // 5))),
    ("inverse_time", lambda s: tf.train.inverse_time_decay(0.1, s, 5, 0.3),
     lambda s: 0.1 / (1 + 0.3 * s / 5)),
    ("inverse_time_staircase", lambda s: tf.train.inverse_time_decay(0.1, s, 5, 0.3,
                                                                     staircase=True),
     lambda s: 0.1 / (1 + 0.3 * (s // 5))),
    ("cosine", lambda s: tf.train.cosine_decay(0.1, s, 20, alpha=0.1),
     lambda s: 0.1 * (0.9 * 0.5 * (1 + math.cos(math.pi * min(s, 20) / 20)) + 0.1)),
    ("cosine_restarts", lambda s: tf.train.cosine_decay_restarts(0.1, s, 4, t_mul=2.0, m_mul=0.8,
                                                                 alpha=0.05),
     lambda s: _sgdr(s, 0.1, 4, 2.0, 0.8, 0.05)),
    ("cosine_restarts_constant_period", lambda s: tf.train.cosine_decay_restarts(0.1, s, 4,
                                                                                 t_mul=1.0),
     lambda s: _sgdr(s, 0.1, 4, 1.0, 1.0, 0.0)),
    ("cosine_restarts_tensor_t_mul", lambda s: tf.train.cosine_decay_restarts(
        0.1, s, 4, t_mul=tf.placeholder_with_default(2.0, [])),
     lambda s: _sgdr(s, 0.1, 4, 2.0, 1.0, 0.0)),
    ("linear_cosine", lambda s: tf.train.linear_cosine_decay(0.1, s, 20, num_periods=2.0,
                                                             alpha=0.1, beta=0.01),
     lambda s: _lincos(s, 0.1, 20, 2.0, 0.1, 0.01)),
]


@pytest.mark.parametrize("name,schedule,ref", SCHEDULES, ids=[r[0] for r in SCHEDULES])
def test_schedule_matches_numpy(name, schedule, ref):
    step = tf.Variable(0, dtype=tf.int64, trainable=False)
    lr = schedule(step)
    assert lr.dtype == tf.float32 and lr.shape.ndims == 0
    with tf.Session() as sess:
        sess.run(step.initializer)
        got = []
        for s in STEPS:
            sess.run(step.assign(s))
            got.append(sess.run(lr))
    assert all(isinstance(v, np.float32) or v.dtype == np.float32 for v in got)
    np.testing.assert_allclose(got, [ref(s) for s in STEPS], rtol=2e-6, atol=1e-8)


def test_schedules_in_float64_and_with_tensor_arguments():
    step = tf.placeholder(tf.int32, [])
    lr = tf.train.exponential_decay(tf.constant(0.1, tf.float64), step, tf.constant(7), 0.5)
    assert lr.dtype == tf.float64
    with tf.Session() as sess:
        assert sess.run(lr, {step: 14}) == pytest.approx(0.025, rel=1e-12)


def test_schedule_names_and_errors():
    step = tf.constant(3, tf.int64)
    assert tf.train.exponential_decay(0.1, step, 7, 0.5).op.name == "ExponentialDecay"
    assert tf.train.piecewise_constant(step, [5], [1.0, 2.0]).op.name == "PiecewiseConstant"
    assert tf.train.polynomial_decay(0.1, step, 7, name="poly").op.name == "poly"
    for fn, what in ((tf.train.exponential_decay, "exponential_decay"),
                     (tf.train.natural_exp_decay, "natural_exp_decay"),
                     (tf.train.inverse_time_decay, "inverse_time_decay")):
        with pytest.raises(ValueError, match="global_step is required for " + what):
            fn(0.1, None, 7, 0.5)
    with pytest.raises(ValueError, match="requires global_step"):
        tf.train.cosine_decay(0.1, None, 7)
    with pytest.raises(ValueError, match="1 less than the length of values"):
        tf.train.piecewise_constant(step, [1, 2], [1.0, 2.0])
    with pytest.raises(ValueError, match="must have the same dtype as x"):
        tf.train.piecewise_constant(step, [1.5], [1.0, 2.0])
    with pytest.raises(ValueError, match="all with the same dtype"):
        tf.train.piecewise_constant(step, [1], [1.0, 2])


def test_piecewise_constant_int32_boundaries_promote_to_int64_step():
    step = tf.placeholder(tf.int64, [])
    lr = tf.train.piecewise_constant(step, [2], [0.5, 0.05])
    with tf.Session() as sess:
        assert [float(sess.run(lr, {step: s})) for s in (1, 2, 3)] == pytest.approx(
            [0.5, 0.5, 0.05])


def test_decayed_rate_drives_an_optimizer():
    step = tf.train.get_or_create_global_step()
    w = tf.Variable(0.0)
    lr = tf.train.exponential_decay(1.0, step, 1, 0.5)
    train = tf.train.GradientDescentOptimizer(lr).minimize(-w, global_step=step)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(3):
            sess.run(train)
        assert sess.run(w) == pytest.approx(1.75)
        assert tf.train.global_step(sess, step) == 3


# ----------------------------------------------------------------------------------------------
# Global step
# ----------------------------------------------------------------------------------------------
def test_global_step_helpers():
    assert tf.train.get_global_step() is None
    step = tf.train.create_global_step()
    assert step.name == "global_step:0" and step.dtype == tf.int64 and step.shape.ndims == 0
    assert not step.trainable
    assert tf.get_collection(tf.GraphKeys.GLOBAL_STEP) == [step]
    assert step in tf.global_variables()
    assert tf.train.get_global_step() is step
    assert tf.train.get_or_create_global_step() is step
    with pytest.raises(ValueError, match="already exists"):
        tf.train.create_global_step()
    other = tf.Graph()
    created = tf.train.get_or_create_global_step(other)
    assert created.graph is other and tf.train.get_global_step(other) is created


def test_global_step_found_by_name_and_validated():
    v = tf.Variable(0, trainable=False, name="global_step")
    assert tf.train.get_global_step() is v
    with tf.Graph().as_default():
        tf.Variable(0.0, name="global_step")
        with pytest.raises(TypeError, match="does not have integer type"):
            tf.train.get_global_step()
    with pytest.raises(TypeError, match="is not scalar"):
        tf.train.assert_global_step(tf.Variable([0, 1]))
    with pytest.raises(TypeError, match="must be a Variable or Tensor"):
        tf.train.assert_global_step(3)


# ----------------------------------------------------------------------------------------------
# ExponentialMovingAverage
# ----------------------------------------------------------------------------------------------
def test_ema_of_variables_matches_numpy():
    w = tf.Variable([1.0, 2.0], name="w")
    b = tf.Variable(5.0, dtype=tf.float64, name="b")
    ema = tf.train.ExponentialMovingAverage(0.9)
    update = ema.apply([w, b])
    assert update.name == "ExponentialMovingAverage" and update.type == "NoOp"
    assert ema.average(w).name == "w/ExponentialMovingAverage:0"
    assert ema.average_name(b) == "b/ExponentialMovingAverage"
    assert ema.average(b).dtype == tf.float64 and not ema.average(w).trainable
    assert tf.moving_average_variables() == [w, b]
    assert ema.average(tf.Variable(0.0)) is None
    values = [np.array([3.0, 4.0]), np.array([-1.0, 0.5]), np.array([2.0, 2.0])]
    shadow = np.array([1.0, 2.0])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for v in values:
            sess.run(w.assign(v))
            sess.run(update)
            shadow = shadow - 0.1 * (shadow - v)
        np.testing.assert_allclose(sess.run(ema.average(w)), shadow, rtol=1e-6)
        assert sess.run(ema.average(b)) == pytest.approx(5.0)


def test_ema_num_updates_caps_decay():
    w = tf.Variable(0.0)
    n = tf.placeholder(tf.int32, [])
    ema = tf.train.ExponentialMovingAverage(0.999, num_updates=n)
    update = ema.apply([w])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(w.assign(10.0))
        sess.run(update, {n: 0})  # decay = min(0.999, 1/10)
        assert sess.run(ema.average(w)) == pytest.approx(9.0)


def test_ema_of_tensors_with_zero_debias():
    x = tf.placeholder(tf.float32, [2])
    t = x * 2.0
    ema = tf.train.ExponentialMovingAverage(0.5, zero_debias=True)
    update = ema.apply([t])
    avg = ema.average(t)
    assert avg.name == "mul/ExponentialMovingAverage:0"
    names = {v.op.name for v in tf.global_variables()}
    assert {"mul/ExponentialMovingAverage/biased",
            "mul/ExponentialMovingAverage/local_step"} <= names
    assert tf.moving_average_variables() == []
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        biased = np.zeros(2)
        for k, xv in enumerate(([1.0, 2.0], [3.0, 0.0], [0.5, 0.5]), 1):
            sess.run(update, {x: xv})
            biased = 0.5 * biased + 0.5 * 2.0 * np.array(xv)
            np.testing.assert_allclose(sess.run(avg), biased / (1 - 0.5 ** k), rtol=1e-6)


def test_ema_rejects_non_float_and_variables_to_restore():
    with pytest.raises(TypeError, match="must be half, float, or double"):
        tf.train.ExponentialMovingAverage(0.9).apply([tf.Variable(1)])
    tf.reset_default_graph()
    w = tf.Variable(1.0, name="w")
    step = tf.Variable(0, trainable=False, name="step")
    ema = tf.train.ExponentialMovingAverage(0.9)
    assert ema.variables_to_restore() == {"w/ExponentialMovingAverage": w, "step": step}
    ema.apply([w])
    restore = ema.variables_to_restore()
    assert restore == {"w/ExponentialMovingAverage": w, "step": step}
    assert ema.variables_to_restore([step]) == {"step/ExponentialMovingAverage": step, "w": w,
                                               "w/ExponentialMovingAverage":
                                               ema.average(w)}


def test_assign_moving_average():
    v = tf.Variable([0.0, 10.0])
    value = tf.constant([1.0, 0.0])
    plain = tf.train.assign_moving_average(v, value, 0.75, zero_debias=False)
    debiased_var = tf.Variable([0.0, 0.0], name="avg")
    debiased = tf.train.assign_moving_average(debiased_var, value, 0.75)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_allclose(sess.run(plain), [0.25, 7.5])
        np.testing.assert_allclose(sess.run(v), [0.25, 7.5])
        np.testing.assert_allclose(sess.run(debiased), [1.0, 0.0], rtol=1e-6)
        np.testing.assert_allclose(sess.run(debiased), [1.0, 0.0], rtol=1e-6)
