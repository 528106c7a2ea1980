"""Loss scaling for float16/bfloat16 training: ``tf.train.experimental`` of TF 1.15.

Small float16 gradients underflow to zero (float16's smallest subnormal is about 6e-8). A
loss scale multiplies the loss by ``S`` before differentiation, so every gradient in the
backward pass is ``S`` times larger, and divides the gradients by ``S`` before they are
applied. ``DynamicLossScale`` finds ``S`` as it goes: a step whose gradients are not all
finite is skipped (no variable changes, optimizer slots included) and halves ``S``; after
``increment_period`` finite steps in a row ``S`` doubles.

* :class:`LossScale`: the interface (``loss_scale()`` is the scale, ``update(grads)`` the
  op updating it and whether to apply the gradients).
* :class:`FixedLossScale`, :class:`DynamicLossScale`.
* :class:`MixedPrecisionLossScaleOptimizer` wraps an optimizer with a loss scale.
* :func:`enable_mixed_precision_graph_rewrite` / :func:`disable_mixed_precision_graph_rewrite`.

Differences from TF 1.15, each deliberate: the gradients are unscaled in float32 and cast
back to their dtype (TF multiplies by a float32 reciprocal, which only types with float32
gradients; here float16/bfloat16 variables work too), and there is no distribution-strategy
``merge_call``: tfnb's replicas apply gradients through their own optimizers.
"""
from ..framework import dtypes
from ..framework.graph import GraphKeys, IndexedSlices, get_default_graph
from ..ops import core
from ..ops.control_flow_ops import cond, group, no_op
from ..ops.math_ops import cast, is_finite, maximum
from ..ops.reduction_ops import reduce_all
from ..ops.variables import Variable
from .optimizer import Optimizer

__all__ = ["LossScale", "FixedLossScale", "DynamicLossScale", "MixedPrecisionLossScaleOptimizer",
           "enable_mixed_precision_graph_rewrite", "disable_mixed_precision_graph_rewrite"]


class LossScale:
    """The interface of a loss scale (TF 1.15's ``tf.train.experimental.LossScale``).

    ``loss_scale()`` (``__call__``) is a float32 scalar tensor; ``update(grads)`` returns
    ``(update_op, should_apply_gradients)``: an op updating the scale from ``grads`` (the
    unscaled gradients of one step) and a bool (tensor or Python) saying whether to apply them.
    """

    def __call__(self):
        raise NotImplementedError(type(self).__name__ + " must implement __call__")

    def update(self, grads):
        raise NotImplementedError(type(self).__name__ + " must implement update")

    def get_config(self):
        raise NotImplementedError(type(self).__name__ + " must implement get_config")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class FixedLossScale(LossScale):
    """A loss scale that never changes; every step's gradients are applied, finite or not.

    Example:
        >>> opt = tf.train.experimental.MixedPrecisionLossScaleOptimizer(opt, 128.)
    """

    def __init__(self, loss_scale_value):
        if not isinstance(loss_scale_value, (int, float)) or isinstance(loss_scale_value, bool):
            raise ValueError("loss_scale_value must be a Python int or float.")
        if loss_scale_value < 1:
            # As TF: a scale below 1 makes underflow worse.
            raise ValueError("loss_scale_value must be at least 1.")
        self._loss_scale_value = float(loss_scale_value)

    def __call__(self):
        return core.constant(self._loss_scale_value, dtype=dtypes.float32)

    def update(self, grads):
        del grads
        return no_op(), True

    def get_config(self):
        return {"loss_scale_value": self._loss_scale_value}

    def __repr__(self):
        return "FixedLossScale(%s)" % self._loss_scale_value


def _all_finite(grads):
    """A bool scalar: every element of every (non-None) gradient is finite."""
    flags = []
    for g in grads:
        if g is None:
            continue
        values = g.values if isinstance(g, IndexedSlices) else g
        flags.append(reduce_all(is_finite(values)))
    if not flags:
        return core.constant(True)
    from ..ops.array_ops import stack
    return reduce_all(stack(flags))


class DynamicLossScale(LossScale):
    """A loss scale that halves on non-finite gradients and grows after good steps.

    Each ``update(grads)``: if every gradient is finite, the count of good steps goes up; when
    it reaches ``increment_period`` the scale is multiplied by ``multiplier`` (unless that
    overflows float32) and the count restarts. If some gradient is inf or NaN, the step's
    gradients must not be applied, the scale is divided by ``multiplier`` (never below 1) and
    the count restarts. The scale and the count are non-trainable variables (float32
    ``current_loss_scale``, int64 ``good_steps``), so they are checkpointed with the model.

    Args:
        initial_loss_scale: the first scale (TF's default ``2 ** 15``).
        increment_period: good steps in a row before the scale grows.
        multiplier: the factor by which the scale grows and shrinks.
    """

    def __init__(self, initial_loss_scale=2 ** 15, increment_period=2000, multiplier=2.):
        self._initial_loss_scale = float(initial_loss_scale)
        self._increment_period = int(increment_period)
        self._multiplier = float(multiplier)
        self._vars = {}  # graph -> (current_loss_scale, good_steps)

    @property
    def initial_loss_scale(self):
        return self._initial_loss_scale

    @property
    def increment_period(self):
        return self._increment_period

    @property
    def multiplier(self):
        return self._multiplier

    def _variables(self):
        g = get_default_graph()
        while g.outer_graph is not None:
            g = g.outer_graph
        pair = self._vars.get(g)
        if pair is None:
            with g.as_default(), g.control_dependencies(None), g.name_scope(None):
                scale = Variable(self._initial_loss_scale, trainable=False, dtype=dtypes.float32,
                                 name="current_loss_scale")
                steps = Variable(0, trainable=False, dtype=dtypes.int64, name="good_steps")
            pair = self._vars[g] = (scale, steps)
        return pair

    def __call__(self):
        return self._variables()[0].value()

    def update(self, grads):
        scale, steps = self._variables()
        finite = _all_finite(grads)
        mult = core.constant(self._multiplier, dtype=dtypes.float32)

        def grow_or_count():
            def grow():
                new = scale * mult
                # Keep the scale when multiplying overflows float32 (TF's _assign_if_finite).
                grown = _op_cond(is_finite(new), lambda: scale.assign(new), no_op)
                return group(grown, steps.assign(core.constant(0, dtype=dtypes.int64)))

            def count():
                return group(steps.assign_add(core.constant(1, dtype=dtypes.int64)))
            return _op_cond(steps + 1 >= self._increment_period, grow, count)

        def shrink():
            return group(steps.assign(core.constant(0, dtype=dtypes.int64)),
                         scale.assign(maximum(scale / mult, 1.0)))
        return _op_cond(finite, grow_or_count, shrink), finite

    def get_config(self):
        return {"initial_loss_scale": self._initial_loss_scale,
                "increment_period": self._increment_period, "multiplier": self._multiplier}

    def __repr__(self):
        return ("DynamicLossScale(initial_loss_scale=%s, increment_period=%d, multiplier=%s)"
                % (self._initial_loss_scale, self._increment_period, self._multiplier))


def _op_cond(pred, true_fn, false_fn):
    """``cond`` over branches that return ops: an op running only the taken branch's ops."""
    def branch(fn):
        def run():
            with get_default_graph().control_dependencies([fn()]):
                return core.constant(True)
        return run
    return cond(pred, branch(true_fn), branch(false_fn)).op


def get(identifier):
    """A LossScale from ``identifier``: a LossScale, a number (fixed), ``"dynamic"`` or None."""
    if isinstance(identifier, LossScale) or identifier is None:
        return identifier
    if isinstance(identifier, (int, float)) and not isinstance(identifier, bool):
        return FixedLossScale(identifier)
    if identifier == "dynamic":
        return DynamicLossScale()
    raise ValueError("Could not interpret loss scale identifier: %s" % (identifier,))


class MixedPrecisionLossScaleOptimizer(Optimizer):
    """An optimizer applying loss scaling to another (TF 1.15's, same name and arguments).

    ``compute_gradients`` multiplies the loss by the scale before differentiating and divides
    the gradients by it (in float32, rounded back to each gradient's dtype); with a
    ``DynamicLossScale``, ``apply_gradients`` applies them only when all are finite (else
    nothing changes: variables, slots, the global step) and always updates the scale.

    Args:
        opt: the ``tf.train.Optimizer`` to wrap.
        loss_scale: a ``LossScale``, a number (a ``FixedLossScale``) or ``"dynamic"``.

    Example:
        >>> opt = tf.train.experimental.MixedPrecisionLossScaleOptimizer(
        ...     tf.train.MomentumOptimizer(0.1, 0.9), "dynamic")
        >>> train_op = opt.minimize(loss)
    """

    def __init__(self, opt, loss_scale):
        if not isinstance(opt, Optimizer):
            raise ValueError('"opt" must be an instance of Optimizer, but got: %s' % type(opt))
        super().__init__(opt._use_locking, opt.get_name())
        self._optimizer = opt
        self._loss_scale = get(loss_scale)
        if self._loss_scale is None:
            raise ValueError("loss_scale cannot be None.")

    @property
    def loss_scale(self):
        return self._loss_scale

    def compute_gradients(self, loss, var_list=None, gate_gradients=Optimizer.GATE_OP,
                          aggregation_method=None, colocate_gradients_with_ops=False,
                          grad_loss=None):
        loss = core.convert_to_tensor(loss)
        scale = self._loss_scale()
        scaled = loss * cast(scale, loss.dtype)
        gvs = self._optimizer.compute_gradients(
            scaled, var_list=var_list, gate_gradients=gate_gradients,
            aggregation_method=aggregation_method,
            colocate_gradients_with_ops=colocate_gradients_with_ops, grad_loss=grad_loss)
        reciprocal = 1.0 / scale
        return [(None if g is None else _unscale(g, reciprocal), v) for g, v in gvs]

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        if not isinstance(self._loss_scale, DynamicLossScale):
            return self._optimizer.apply_gradients(grads_and_vars, global_step, name)
        grads_and_vars = tuple(grads_and_vars)
        name = name if name is not None else self.get_name()
        update_scale, should_apply = self._loss_scale.update([g for g, _ in grads_and_vars])
        # Slots (and Adam's beta powers) are made here, outside the conditional branch, so they
        # are named as the unwrapped optimizer's (its checkpoints restore into this one).
        var_list = [v for g, v in grads_and_vars if g is not None]
        if var_list:
            graph = var_list[0].graph
            with graph.as_default(), graph.control_dependencies(None), graph.name_scope(None):
                self._optimizer._create_slots(var_list)

        def apply_fn():
            return self._optimizer.apply_gradients(grads_and_vars, global_step,
                                                   name + "-wrapped")
        maybe_apply = _op_cond(should_apply, apply_fn, no_op)
        train_op = group(maybe_apply, update_scale, name=name)
        train_ops = train_op.graph.get_collection_ref(GraphKeys.TRAIN_OP)
        if train_op not in train_ops:
            train_ops.append(train_op)
        return train_op

    # The wrapped optimizer's slots are this optimizer's.
    def get_slot(self, var, name):
        return self._optimizer.get_slot(var, name)

    def get_slot_names(self):
        return self._optimizer.get_slot_names()

    def variables(self):
        return self._optimizer.variables()


def _unscale(g, reciprocal):
    def scaled(t):
        if t.dtype is dtypes.float32:
            return t * reciprocal
        return cast(cast(t, dtypes.float32) * reciprocal, t.dtype)
    if isinstance(g, IndexedSlices):
        return IndexedSlices(scaled(g.values), g.indices, g.dense_shape)
    return scaled(g)


_REWRITE = {"enabled": False}


def enable_mixed_precision_graph_rewrite(opt, loss_scale="dynamic"):
    """Wraps ``opt`` in a :class:`MixedPrecisionLossScaleOptimizer` (TF 1.15's API).

    In TF 1.15 this also turns on the ``auto_mixed_precision`` grappler pass, which rewrites
    float32 ops to float16 on NVIDIA GPUs only; on a CPU TF's pass changes nothing, so what
    remains is the loss-scaling wrapper -- which is all this does in tfnb (its kernels run on
    CPUs; models keep the dtypes they are written with).

    Raises:
        ValueError: if ``opt`` is already a MixedPrecisionLossScaleOptimizer.
    """
    if isinstance(opt, MixedPrecisionLossScaleOptimizer):
        raise ValueError('"opt" must not already be an instance of a '
                         "MixedPrecisionLossScaleOptimizer. enable_mixed_precision_graph_rewrite "
                         "will automatically wrap the optimizer with a "
                         "MixedPrecisionLossScaleOptimizer.")
    if not isinstance(opt, Optimizer):
        raise ValueError('"opt" must be an instance of a tf.train.Optimizer, but got: %s'
                         % type(opt))
    _REWRITE["enabled"] = True
    return MixedPrecisionLossScaleOptimizer(opt, loss_scale)


def disable_mixed_precision_graph_rewrite():
    """Undoes the flag set by :func:`enable_mixed_precision_graph_rewrite` (optimizers already
    wrapped stay wrapped, as in TF)."""
    _REWRITE["enabled"] = False
