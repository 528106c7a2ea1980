"""Exponential moving averages of variables and tensors (``tf.train.ExponentialMovingAverage``).

Each averaged variable gets a *shadow* variable ``<var>/ExponentialMovingAverage``
(not trainable), and ``apply`` returns one op that moves every shadow towards its
variable: ``shadow -= (1 - decay) * (shadow - value)``. A common use is evaluating a
model with averaged weights:

    >>> ema = tf.train.ExponentialMovingAverage(decay=0.999)
    >>> with tf.control_dependencies([train_op]):
    ...     train_and_average = ema.apply(tf.trainable_variables())
    >>> saver = tf.train.Saver(ema.variables_to_restore())   # loads shadows into the model
"""
import contextlib

import numpy as np

from ..framework import dtypes
from ..framework.graph import GraphKeys, get_default_graph, name_scope
from ..ops import core
from ..ops.array_ops import fill, shape
from ..ops.control_flow_ops import group
from ..ops.math_ops import cast, minimum, pow as pow_
from ..ops.variables import Variable, global_variables, moving_average_variables, \
    trainable_variables

__all__ = ["ExponentialMovingAverage", "assign_moving_average"]


def _new_state(name, like, dtype, value=0):
    """A non-trainable variable named exactly as TF1 names the slot (made unique if taken)."""
    graph = get_default_graph()

    def init():
        if isinstance(like, (list, tuple)):
            return fill(list(like), np.array(value, dtype.np))
        if isinstance(like, Variable):
            return like.initialized_value()
        return fill(shape(like), np.array(value, dtype.np)) if not like.shape.is_fully_defined() \
            else fill(like.shape.as_list(), np.array(value, dtype.np))
    with graph.control_dependencies(None), graph.name_scope(None):
        return Variable(init, trainable=False, name=name, dtype=dtype)


def assign_moving_average(variable, value, decay, zero_debias=True, name=None):
    """``variable -= (1 - decay) * (variable - value)``; returns the new value.

    Args:
        variable: the Variable holding the average.
        value: the new observation (same shape and dtype).
        decay: float or scalar tensor, typically close to 1.
        zero_debias: divide out the bias towards the zero start (``variable`` is then
            ``biased / (1 - decay^t)``, with ``<variable>/biased`` and ``<variable>/local_step``
            added as state), as in Kingma & Ba (2015).
    """
    graph = variable.graph
    # As TF1: the update (its constants, the debiasing state) lives with the average.
    with name_scope(name, "AssignMovingAvg") as scope, graph.colocate_with(variable):
        one_minus_decay = core.convert_to_tensor(1.0 - decay, name="decay")
        if one_minus_decay.dtype is not variable.dtype:
            one_minus_decay = cast(one_minus_decay, variable.dtype)
        if not zero_debias:
            return variable.assign_sub((variable - value) * one_minus_decay, name=scope)
        base = variable.op.name
        biased = _new_state(base + "/biased", variable.shape.as_list()
                            if variable.shape.is_fully_defined() else value, variable.dtype)
        local_step = _new_state(base + "/local_step", [], variable.dtype)
        update_biased = biased.assign_sub((biased - value) * one_minus_decay)
        update_step = local_step.assign_add(core.constant(1, dtype=variable.dtype))
        bias_factor = 1 - pow_(1.0 - one_minus_decay, update_step)
        return variable.assign(update_biased / bias_factor, name=scope)


class ExponentialMovingAverage:
    """Maintains moving averages of variables (or tensors) with exponential decay.

    Args:
        decay: float or scalar tensor, e.g. 0.999.
        num_updates: optional step counter; the decay used is then
            ``min(decay, (1 + num_updates) / (10 + num_updates))`` so early averages move fast.
        zero_debias: for averaged *tensors* (not variables), correct the zero start.
        name: name of the ops and suffix of the shadow variables.
    """

    def __init__(self, decay, num_updates=None, zero_debias=False,
                 name="ExponentialMovingAverage"):
        self._decay = decay
        self._num_updates = num_updates
        self._zero_debias = zero_debias
        self._name = name
        self._averages = {}  # variable or tensor -> shadow Variable

    @property
    def name(self):
        return self._name

    def apply(self, var_list=None):
        """Creates shadows for new entries of ``var_list`` (default: trainable variables)
        and returns an op that updates all of their averages.

        Raises:
            TypeError: an entry is not of a floating dtype (half, float or double).
        """
        var_list = trainable_variables() if var_list is None else list(var_list)
        graph = var_list[0].graph if var_list else get_default_graph()
        debiased = set()
        for var in var_list:
            if var.dtype not in (dtypes.float16, dtypes.float32, dtypes.float64):
                raise TypeError("The variables must be half, float, or double: %s" % var.name)
            if var in self._averages:
                continue
            shadow_name = var.op.name + "/" + self._name
            # A variable's shadow starts at its initial value and lives with it (TF1's
            # colocate_with_primary); a tensor's starts at zeros where device scopes put it.
            near = graph.colocate_with(var) if isinstance(var, Variable) \
                else contextlib.nullcontext()
            with graph.as_default(), near:
                avg = _new_state(shadow_name, var, var.dtype)
            if isinstance(var, Variable):
                graph.add_to_collection(GraphKeys.MOVING_AVERAGE_VARIABLES, var)
            elif self._zero_debias:
                debiased.add(avg)
            self._averages[var] = avg
        with graph.as_default(), name_scope(self._name) as scope:
            decay = core.convert_to_tensor(self._decay, name="decay")
            if self._num_updates is not None:
                n = cast(self._num_updates, dtypes.float32, name="num_updates")
                decay = minimum(decay, (1.0 + n) / (10.0 + n))
            updates = [assign_moving_average(self._averages[v], v, decay,
                                             zero_debias=self._averages[v] in debiased)
                       for v in var_list]
            return group(*updates, name=scope)

    def average(self, var):
        """The shadow Variable of ``var``, or None if ``apply`` was not given it."""
        return self._averages.get(var)

    def average_name(self, var):
        """The (op) name of ``var``'s shadow, also before ``apply`` created it (for restoring)."""
        if var in self._averages:
            return self._averages[var].op.name
        return get_default_graph().unique_name(var.op.name + "/" + self._name, mark_as_used=False)

    def variables_to_restore(self, moving_avg_variables=None):
        """A ``{name in checkpoint: variable}`` map that restores the averages into the variables.

        Variables with averages (default: trainable ones and the MOVING_AVERAGE_VARIABLES
        collection) map from their shadow's name; all other global variables map from
        their own name. Pass it to ``tf.train.Saver`` to evaluate with averaged weights.
        """
        if moving_avg_variables is None:
            moving_avg_variables = trainable_variables() + moving_average_variables()
        unique = list(dict.fromkeys(moving_avg_variables))
        name_map = {self.average_name(v): v for v in unique}
        names = {v.name for v in unique}
        for v in global_variables():
            if v.name not in names and v.op.name not in name_map:
                name_map[v.op.name] = v
        return name_map

