"""Learning-rate schedules of a global step, and the global step itself (TF1 ``tf.train``).

Each schedule takes the step as a tensor or variable (usually the global step) and
returns a scalar tensor, so a decayed rate is recomputed every ``session.run``:

    >>> step = tf.train.get_or_create_global_step()
    >>> lr = tf.train.exponential_decay(0.1, step, decay_steps=1000, decay_rate=0.96)
    >>> train = tf.train.GradientDescentOptimizer(lr).minimize(loss, global_step=step)

The arithmetic is done in the dtype of ``learning_rate`` (float32 for a Python float),
with the same formulas and op order as TF1.
"""
import math
import numbers

from ..framework import dtypes
from ..framework.graph import GraphKeys, Tensor, get_default_graph, name_scope
from ..ops import core
from ..ops.init_ops import zeros_initializer
from ..ops.math_ops import (add, cast, ceil, cos, divide, equal, exp, floor, log, minimum,
                            multiply, negative, pow as pow_, where)
from ..ops.variable_scope import get_variable
from ..ops.variables import Variable

__all__ = ["exponential_decay", "piecewise_constant", "polynomial_decay", "natural_exp_decay",
           "inverse_time_decay", "cosine_decay", "cosine_decay_restarts", "linear_cosine_decay",
           "get_global_step", "create_global_step", "get_or_create_global_step",
           "assert_global_step", "global_step"]


# ----------------------------------------------------------------------------------------------
# Global step
# ----------------------------------------------------------------------------------------------
def assert_global_step(global_step_tensor):
    """Raises TypeError unless ``global_step_tensor`` is a scalar integer Variable or Tensor."""
    if not isinstance(global_step_tensor, (Variable, Tensor)):
        raise TypeError('Existing "global_step" must be a Variable or Tensor: %s.'
                        % (global_step_tensor,))
    if not global_step_tensor.dtype.is_integer:
        raise TypeError('Existing "global_step" does not have integer type: %s'
                        % global_step_tensor.dtype.name)
    shape = global_step_tensor.shape
    if shape.ndims != 0 and shape.is_fully_defined():
        raise TypeError('Existing "global_step" is not scalar: %s' % shape)


def get_global_step(graph=None):
    """The global step: the one entry of the GLOBAL_STEP collection, else the variable
    named ``global_step``, else None."""
    graph = graph or get_default_graph()
    found = graph.get_collection(GraphKeys.GLOBAL_STEP)
    if len(found) > 1:
        return None  # TF1 logs "Multiple tensors in global_step collection." and gives up
    if found:
        step = found[0]
    else:
        step = next((v for v in graph.get_collection(GraphKeys.GLOBAL_VARIABLES)
                     if v.name == "global_step:0"), None)
        if step is None:
            try:
                step = graph.get_tensor_by_name("global_step:0")
            except KeyError:
                return None
            if step.dtype is dtypes.resource:
                return None
    assert_global_step(step)
    return step


def create_global_step(graph=None):
    """Creates the int64 scalar variable ``global_step`` (zero) in the GLOBAL_STEP collection.

    Raises:
        ValueError: a global step already exists.
    """
    graph = graph or get_default_graph()
    if get_global_step(graph) is not None:
        raise ValueError('"global_step" already exists.')
    with graph.as_default(), graph.name_scope(None):
        return get_variable(GraphKeys.GLOBAL_STEP, shape=[], dtype=dtypes.int64,
                            initializer=zeros_initializer(), trainable=False,
                            collections=[GraphKeys.GLOBAL_VARIABLES, GraphKeys.GLOBAL_STEP])


def get_or_create_global_step(graph=None):
    """The global step of ``graph`` (default graph), created if there is none."""
    graph = graph or get_default_graph()
    step = get_global_step(graph)
    return step if step is not None else create_global_step(graph)


def global_step(sess, global_step_tensor):
    """The value of the global step in ``sess``, as a Python int."""
    return int(sess.run(global_step_tensor))


# ----------------------------------------------------------------------------------------------
# Schedules
# ----------------------------------------------------------------------------------------------
def _as(x, dtype):
    """``x`` (a Python number or a tensor) as a tensor of ``dtype``."""
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        return core.constant(x, dtype=dtype)
    return cast(x, dtype)


def _require(step, what):
    if step is None:
        raise ValueError("global_step is required for %s." % what)


def _rate(learning_rate):
    return core.convert_to_tensor(learning_rate, name="learning_rate")


def exponential_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False,
                      name=None):
    """``learning_rate * decay_rate ^ (global_step / decay_steps)``.

    Args:
        staircase: use the integer part of ``global_step / decay_steps`` (decay in steps).
    """
    _require(global_step, "exponential_decay")
    with name_scope(name, "ExponentialDecay") as scope:
        lr = _rate(learning_rate)
        dtype = lr.dtype
        p = cast(global_step, dtype) / _as(decay_steps, dtype)
        if staircase:
            p = floor(p)
        return multiply(lr, pow_(_as(decay_rate, dtype), p), name=scope)


def natural_exp_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False,
                      name=None):
    """``learning_rate * exp(-decay_rate * global_step / decay_steps)``."""
    _require(global_step, "natural_exp_decay")
    with name_scope(name, "NaturalExpDecay") as scope:
        lr = _rate(learning_rate)
        dtype = lr.dtype
        rate = exp(negative(_as(decay_rate, dtype)))
        p = cast(global_step, dtype) / _as(decay_steps, dtype)
        if staircase:
            p = floor(p)
        return multiply(lr, pow_(rate, p), name=scope)


def inverse_time_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False,
                       name=None):
    """``learning_rate / (1 + decay_rate * global_step / decay_steps)``."""
    _require(global_step, "inverse_time_decay")
    with name_scope(name, "InverseTimeDecay") as scope:
        lr = _rate(learning_rate)
        dtype = lr.dtype
        p = cast(global_step, dtype) / _as(decay_steps, dtype)
        if staircase:
            p = floor(p)
        denom = core.constant(1, dtype=dtype) + _as(decay_rate, dtype) * p
        return divide(lr, denom, name=scope)


def piecewise_constant(x, boundaries, values, name=None):
    """``values[0]`` while ``x <= boundaries[0]``, ..., ``values[-1]`` once ``x > boundaries[-1]``.

    Args:
        x: a scalar tensor (e.g. the global step).
        boundaries: increasing list of thresholds, of x's dtype (Python ints promote to int64).
        values: one more entry than ``boundaries``, all of one dtype.

    Raises:
        ValueError: lengths or dtypes do not match.
    """
    if len(boundaries) != len(values) - 1:
        raise ValueError("The length of boundaries should be 1 less than the length of values")
    with name_scope(name, "PiecewiseConstant") as scope:
        x = core.convert_to_tensor(x)
        bounds = []
        for b in boundaries:
            b = core.convert_to_tensor(b)
            if b.dtype is not x.dtype:
                if b.dtype is dtypes.int32 and x.dtype is dtypes.int64:
                    b = cast(b, dtypes.int64)
                else:
                    raise ValueError("Boundaries (%s) must have the same dtype as x (%s)."
                                     % (b.dtype.name, x.dtype.name))
            bounds.append(b)
        vals = [core.convert_to_tensor(v) for v in values]
        for v in vals[1:]:
            if v.dtype is not vals[0].dtype:
                raise ValueError("Values must have elements all with the same dtype (%s vs %s)."
                                 % (vals[0].dtype.name, v.dtype.name))
        result = vals[-1]
        for i in range(len(bounds) - 1, -1, -1):
            result = where(x <= bounds[i], vals[i], result, name=scope if i == 0 else None)
        return result


def polynomial_decay(learning_rate, global_step, decay_steps, end_learning_rate=0.0001, power=1.0,
                     cycle=False, name=None):
    """Decays from ``learning_rate`` to ``end_learning_rate`` over ``decay_steps`` as
    ``(lr - end) * (1 - step / decay_steps) ^ power + end``.

    Args:
        cycle: restart the decay after each ``decay_steps`` multiple instead of staying at
            ``end_learning_rate`` (the period grows to the next multiple above the step).
    """
    _require(global_step, "polynomial_decay")
    with name_scope(name, "PolynomialDecay") as scope:
        lr = _rate(learning_rate)
        dtype = lr.dtype
        end = _as(end_learning_rate, dtype)
        power = _as(power, dtype)
        step = cast(global_step, dtype)
        steps = _as(decay_steps, dtype)
        if cycle:
            multiplier = where(equal(step, 0), core.constant(1.0, dtype=dtype),
                               ceil(step / _as(decay_steps, dtype)))
            steps = steps * multiplier
        else:
            step = minimum(step, steps)
        p = step / steps
        return add((lr - end) * pow_(1 - p, power), end, name=scope)


def cosine_decay(learning_rate, global_step, decay_steps, alpha=0.0, name=None):
    """``learning_rate * ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, decay_steps) / decay_steps))
    + alpha)`` (Loshchilov & Hutter, SGDR without restarts)."""
    if global_step is None:
        raise ValueError("cosine decay requires global_step")
    with name_scope(name, "CosineDecay") as scope:
        lr = _rate(learning_rate)
        dtype = lr.dtype
        steps = _as(decay_steps, dtype)
        fraction = minimum(cast(global_step, dtype), steps) / steps
        decayed = 0.5 * (1.0 + cos(core.constant(math.pi, dtype=dtype) * fraction))
        alpha = _as(alpha, dtype)
        return multiply(lr, (1 - alpha) * decayed + alpha, name=scope)


def cosine_decay_restarts(learning_rate, global_step, first_decay_steps, t_mul=2.0, m_mul=1.0,
                          alpha=0.0, name=None):
    """Cosine decay with warm restarts (SGDR): period ``i`` lasts
    ``first_decay_steps * t_mul^i`` steps and starts at ``learning_rate * m_mul^i``."""
    if global_step is None:
        raise ValueError("cosine decay restarts requires global_step")
    with name_scope(name, "SGDRDecay") as scope:
        lr = _rate(learning_rate)
        dtype = lr.dtype
        alpha = _as(alpha, dtype)
        t_mul_t = _as(t_mul, dtype)
        m_mul = _as(m_mul, dtype)
        fraction = cast(global_step, dtype) / _as(first_decay_steps, dtype)

        def geometric():
            i_restart = floor(log(1.0 - fraction * (1.0 - t_mul_t)) / log(t_mul_t))
            sum_r = (1.0 - pow_(t_mul_t, i_restart)) / (1.0 - t_mul_t)
            return i_restart, (fraction - sum_r) / pow_(t_mul_t, i_restart)

        def constant_period():
            i_restart = floor(fraction)
            return i_restart, fraction - i_restart

        known = core.constant_value(t_mul_t)
        if known is not None:
            i_restart, fraction = constant_period() if float(known) == 1.0 else geometric()
        else:
            same = equal(t_mul_t, 1.0)
            (i_c, f_c), (i_g, f_g) = constant_period(), geometric()
            i_restart, fraction = where(same, i_c, i_g), where(same, f_c, f_g)
        m_fac = pow_(m_mul, i_restart)
        decayed = 0.5 * m_fac * (1.0 + cos(core.constant(math.pi, dtype=dtype) * fraction))
        return multiply(lr, (1 - alpha) * decayed + alpha, name=scope)


def linear_cosine_decay(learning_rate, global_step, decay_steps, num_periods=0.5, alpha=0.0,
                        beta=0.001, name=None):
    """``learning_rate * ((alpha + linear) * cosine + beta)`` with ``linear`` going from 1 to 0
    and ``cosine`` doing ``num_periods`` periods over ``decay_steps`` (Bello et al., 2017)."""
    if global_step is None:
        raise ValueError("linear cosine decay requires global_step")
    with name_scope(name, "LinearCosineDecay") as scope:
        lr = _rate(learning_rate)
        dtype = lr.dtype
        steps = _as(decay_steps, dtype)
        step = minimum(cast(global_step, dtype), steps)
        linear = (steps - step) / steps
        fraction = 2.0 * _as(num_periods, dtype) * (step / steps)
        cosine = 0.5 * (1.0 + cos(core.constant(math.pi, dtype=dtype) * fraction))
        decayed = (_as(alpha, dtype) + linear) * cosine + _as(beta, dtype)
        return multiply(lr, decayed, name=scope)
