"""TF1's ``tf.train`` optimizers beyond gradient descent, and an interface to SciPy's minimizers.

Every optimizer's update is ONE fused op per variable (``ResourceApplyAdam`` ...).
Its kernel reads the variable and its slots through their handles, computes the
new arrays with one elementwise *rule*, and installs them (writes are journaled, so
a failed step rolls back). With ``use_locking=True`` it holds the locks of the
variable and its slots from the reads to the writes, so concurrent steps lose no
update; without, updates race as TF1's ("Hogwild"), each array installed whole.
The same rule applied to the rows named by an ``IndexedSlices`` gradient
(duplicate indices summed first) is the sparse variant ``ResourceSparseApply*``:
only those rows of the variable and of its slots change, as with TF1's
``SparseApply*`` kernels. Adam is the exception TF1 makes too: its
sparse update still decays every row of ``m`` and ``v``.

Formulas, defaults, slot names (``get_slot_names``) and slot-variable names
(``w/Adam``, ``w/Adam_1``) follow TF1.

Example:
    >>> opt = tf.train.AdamOptimizer(0.01)
    >>> train_op = opt.minimize(loss, global_step=tf.train.get_or_create_global_step())
    >>> opt.get_slot(w, "m")      # the first-moment accumulator of w
"""
import logging
import numbers

import numpy as np

from ..framework import errors
from ..framework.graph import IndexedSlices, Tensor, get_default_graph
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..ops import core
from ..ops.array_ops import concat, fill, placeholder, reshape, shape, zeros_like
from ..ops.control_flow_ops import group
from ..ops.gradients import gradients
from ..ops.math_ops import cast
from ..ops.variables import Variable, trainable_variables
from ..runtime.state import hold_locks
from .optimizer import Optimizer, _read_where_held

__all__ = ["MomentumOptimizer", "AdagradOptimizer", "AdadeltaOptimizer", "RMSPropOptimizer",
           "AdamOptimizer", "FtrlOptimizer", "ExternalOptimizerInterface",
           "ScipyOptimizerInterface"]


# ----------------------------------------------------------------------------------------------
# Fused update ops: one rule per optimizer serves the dense and the sparse kernel
# ----------------------------------------------------------------------------------------------
def _var_spec(handle):
    """(dtype, shape) of the variable behind ``handle``, or (None, None) if unknown here."""
    h = handle.op
    if h.type == "VarHandleOp":
        return h._attrs["dtype"], h._attrs["shape"]
    return None, None


def _apply_infer(n_handles, scalar_names, sparse):
    """Checks dtypes and shapes when the update op is created (TF checks them at run time)."""
    def infer(op):
        ins = op._inputs
        vdt, vshape = _var_spec(ins[0])
        scalars = ins[n_handles:n_handles + len(scalar_names)]
        for name, t in zip(scalar_names, scalars):
            if vdt is not None and t.dtype is not vdt:
                raise TypeError("%s has dtype %s, expected %s (the variable's)"
                                % (name, t.dtype.name, vdt.name))
            if t._shape.ndims not in (None, 0):
                raise ValueError("%s is not a scalar: %s" % (name, t._shape))
        if sparse:
            grad, indices = ins[-2:]
            if not indices.dtype.is_integer:
                raise TypeError("indices must be int32 or int64, got %s" % indices.dtype.name)
            if indices._shape.ndims not in (None, 1):
                raise ValueError("indices must be a vector, got shape %s" % indices._shape)
            if grad._shape.ndims == 0:
                raise ValueError("values must be at least a vector")
            if not grad._shape[:1].is_compatible_with(indices._shape[:1]):
                raise ValueError("values %s and indices %s disagree on the number of rows"
                                 % (grad._shape, indices._shape))
            # Each row of values is one row of the variable.
            check = vshape[1:] if vshape is not None and vshape.ndims else None
            got = grad._shape[1:]
        else:
            grad = ins[-1]
            check, got = vshape, grad._shape
        if vdt is not None and grad.dtype is not vdt:
            raise TypeError("gradient has dtype %s, the variable has %s"
                            % (grad.dtype.name, vdt.name))
        if check is not None and not check.is_compatible_with(got):
            raise ValueError("gradient shape %s does not match variable shape %s"
                             % (grad._shape, vshape))
        return []
    return infer


def _sum_duplicates(xp, values, indices, n_rows):
    """(unique sorted rows, per-row sums of ``values``) for an IndexedSlices gradient."""
    idx = indices.reshape(-1)
    if idx.size and (idx.min() < 0 or idx.max() >= n_rows):
        bad = int(idx[(idx < 0) | (idx >= n_rows)][0])
        raise errors.InvalidArgumentError(None, None, "index %d is not in [0, %d)" % (bad, n_rows))
    rows, inv = xp.unique(idx, return_inverse=True)
    inv = inv.reshape(-1)
    if rows.shape[0] == idx.shape[0]:
        summed = xp.empty_like(values)
        summed[inv] = values
    else:
        summed = xp.zeros((rows.shape[0],) + values.shape[1:], values.dtype)
        xp.add.at(summed, inv, values)
    return rows, summed


def _register_apply(kind, slots, scalars, rule, doc, sparse_rows=True):
    """Registers ``ResourceApply<kind>`` and ``ResourceSparseApply<kind>`` from one rule.

    Inputs are the variable's handle, the slots' handles, the scalar hyper-parameters,
    then the gradient (dense) or its values and indices (sparse).
    ``rule(xp, attrs, var, *slots, *scalars, grad)`` returns the new ``(var, *slots)``.
    With ``sparse_rows=False`` the sparse kernel scatters the gradient into zeros and
    updates every row (TF1's Adam).
    """
    n_handles = 1 + len(slots)
    takes_out = getattr(rule, "takes_out", False)

    def dense_kernel(op, ctx):
        xp, attrs, dt = ctx.xp, op._attrs, op._inputs[-1].dtype.np
        locking = attrs.get("use_locking", False)

        def apply(*args):
            if locking:  # the variable and its slots stay locked from the reads to the writes
                with hold_locks(args[:n_handles]):
                    return update(*args)
            return update(*args)

        def update(*args):
            handles, grad = args[:n_handles], args[-1]
            current = [h.read() for h in handles]
            if grad.shape != current[0].shape:
                raise errors.InvalidArgumentError(
                    None, None, "var and grad do not have the same shape: %s %s"
                    % (list(current[0].shape), list(grad.shape)))
            if takes_out:  # the rule writes into the slots' spare buffers when there are any
                new = rule(xp, attrs, *current, *args[n_handles:], out=[h.spare() for h in handles])
            else:
                new = rule(xp, attrs, *current, *args[n_handles:])
            for h, value in zip(handles, new):
                h.write(value.astype(dt, copy=False))
        return apply

    def sparse_kernel(op, ctx):
        xp, attrs, dt = ctx.xp, op._attrs, op._inputs[-2].dtype.np
        locking = attrs.get("use_locking", False)

        def sparse_apply(*args):
            if locking:
                with hold_locks(args[:n_handles]):
                    return sparse_update(*args)
            return sparse_update(*args)

        def sparse_update(*args):
            handles, scal, (values, indices) = args[:n_handles], args[n_handles:-2], args[-2:]
            var_shape = handles[0].read().shape
            if values.shape[1:] != var_shape[1:]:
                raise errors.InvalidArgumentError(
                    None, None, "var and grad rows do not have the same shape: %s %s"
                    % (list(var_shape), list(values.shape)))
            rows, summed = _sum_duplicates(xp, values, indices, var_shape[0])
            if not sparse_rows:
                grad = xp.zeros(var_shape, dt)
                grad[rows] = summed
                new = rule(xp, attrs, *[h.read() for h in handles], *scal, grad)
                for h, value in zip(handles, new):
                    h.write(value.astype(dt, copy=False))
                return
            new = rule(xp, attrs, *[h.read()[rows] for h in handles], *scal, summed)
            for h, value in zip(handles, new):
                h.update_rows(rows, lambda _old, value=value: value.astype(dt, copy=False))
        return sparse_apply

    register_op("ResourceApply" + kind, infer=_apply_infer(n_handles, scalars, False),
                kernel=dense_kernel, grad=NOT_DIFFERENTIABLE, stateful=True, side_effects=True,
                doc=doc)
    register_op("ResourceSparseApply" + kind, infer=_apply_infer(n_handles, scalars, True),
                kernel=sparse_kernel, grad=NOT_DIFFERENTIABLE, stateful=True, side_effects=True,
                doc=doc + " (rows of an IndexedSlices gradient)")


def _momentum_rule(xp, a, var, accum, lr, momentum, grad):
    accum = accum * momentum + grad
    if a["use_nesterov"]:
        return var - (grad * lr + accum * momentum * lr), accum
    return var - accum * lr, accum


def _adagrad_rule(xp, a, var, accum, lr, grad):
    accum = accum + grad * grad
    return var - grad * lr / xp.sqrt(accum), accum


def _adadelta_rule(xp, a, var, accum, accum_update, lr, rho, epsilon, grad):
    accum = accum * rho + grad * grad * (1 - rho)
    update = xp.sqrt(accum_update + epsilon) / xp.sqrt(accum + epsilon) * grad
    accum_update = accum_update * rho + update * update * (1 - rho)
    return var - update * lr, accum, accum_update


def _rmsprop_rule(xp, a, var, ms, mom, lr, rho, momentum, epsilon, grad):
    ms = ms + (grad * grad - ms) * (1 - rho)
    mom = mom * momentum + lr * grad / xp.sqrt(ms + epsilon)
    return var - mom, ms, mom


def _centered_rmsprop_rule(xp, a, var, mg, ms, mom, lr, rho, momentum, epsilon, grad):
    ms = ms + (grad * grad - ms) * (1 - rho)
    mg = mg + (grad - mg) * (1 - rho)
    mom = mom * momentum + lr * grad / xp.sqrt(ms - mg * mg + epsilon)
    return var - mom, mg, ms, mom


def _adam_rule(xp, a, var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad,
               out=(None, None, None)):
    # Bias correction folds into the step size, so epsilon is TF1's "epsilon hat".
    alpha = lr * xp.sqrt(1 - beta2_power) / (1 - beta1_power)
    # The arithmetic of m + (grad - m) * (1 - beta1) etc., in the order TF1 rounds it, written
    # into ``out`` (spare buffers of var, m, v) when given: one temporary per step, not 12.
    out_var, out_m, out_v = out
    new_m = xp.subtract(grad, m, out=out_m)
    new_m *= 1 - beta1
    new_m += m
    new_v = xp.multiply(grad, grad, out=out_v)
    new_v -= v
    new_v *= 1 - beta2
    new_v += v
    denom = xp.sqrt(new_v)
    denom += epsilon
    step = xp.multiply(new_m, alpha, out=out_var)
    step /= denom
    if out_var is None:
        return var - step, new_m, new_v
    return xp.subtract(var, step, out=step), new_m, new_v


_adam_rule.takes_out = True


def _ftrl_rule(xp, a, var, accum, linear, lr, l1, l2, l2_shrinkage, lr_power, grad):
    def power(x):  # accum ** -lr_power, with TF's exact square root for the default -0.5
        return xp.sqrt(x) if lr_power == -0.5 else x ** -lr_power
    new_accum = accum + grad * grad
    shrunk = grad + 2 * l2_shrinkage * var
    linear = linear + shrunk - (power(new_accum) - power(accum)) / lr * var
    quadratic = power(new_accum) / lr + 2 * l2
    var = xp.where(xp.abs(linear) > l1, (l1 * xp.sign(linear) - linear) / quadratic,
                   xp.zeros_like(var))
    return var, new_accum, linear


_register_apply("Momentum", ["accum"], ["lr", "momentum"], _momentum_rule,
                "accum = accum * momentum + grad; var -= lr * accum (or Nesterov's step)")
_register_apply("Adagrad", ["accum"], ["lr"], _adagrad_rule,
                "accum += grad^2; var -= lr * grad / sqrt(accum)")
_register_apply("Adadelta", ["accum", "accum_update"], ["lr", "rho", "epsilon"], _adadelta_rule,
                "Adadelta (Zeiler 2012) with TF1's learning-rate factor")
_register_apply("RMSProp", ["ms", "mom"], ["lr", "rho", "momentum", "epsilon"], _rmsprop_rule,
                "ms += (1-rho)*(grad^2-ms); mom = momentum*mom + lr*grad/sqrt(ms+eps); var -= mom")
_register_apply("CenteredRMSProp", ["mg", "ms", "mom"], ["lr", "rho", "momentum", "epsilon"],
                _centered_rmsprop_rule, "RMSProp normalized by the estimated variance ms - mg^2")
_register_apply("Adam", ["m", "v"], ["beta1_power", "beta2_power", "lr", "beta1", "beta2",
                                     "epsilon"], _adam_rule,
                "Adam (Kingma & Ba) with bias correction in the step size", sparse_rows=False)
_register_apply("FtrlV2", ["accum", "linear"], ["lr", "l1", "l2", "l2_shrinkage", "lr_power"],
                _ftrl_rule, "FTRL-Proximal (McMahan et al. 2013) with L2 shrinkage")


# ----------------------------------------------------------------------------------------------
# Optimizers
# ----------------------------------------------------------------------------------------------
def _check_hyper(name, value):
    """Rejects, when the optimizer is built, a hyper-parameter that can never be a float.

    Numbers (Python or NumPy) are fine; tensors and variables must be floating; callables
    are called when the update ops are built (as TF1 allows).
    """
    if isinstance(value, (Tensor, Variable)):
        if not value.dtype.is_floating:
            raise TypeError("%s must be a floating-point Tensor, got %s of dtype %s"
                            % (name, value.name, value.dtype.name))
    elif isinstance(value, bool) or not (
            isinstance(value, (numbers.Real, np.number)) or callable(value)
            or (isinstance(value, np.ndarray) and value.dtype.kind in "fiu")):
        raise TypeError("%s must be a float or a floating-point Tensor, got %r" % (name, value))


class _FusedOptimizer(Optimizer):
    """An optimizer whose update is one ``ResourceApply<kind>`` op per variable."""

    def __init__(self, use_locking, name, **hypers):
        super().__init__(use_locking, name)
        for key, value in hypers.items():
            _check_hyper(key, value)

    def _hyper(self, var, value):
        """A hyper-parameter (float, tensor or callable) as a scalar of the variable's dtype.

        A Python number becomes a float32 constant first, as TF1's ``_prepare`` makes it,
        so float64 variables see the same (float32-rounded) value as under TF1.
        """
        if callable(value) and not isinstance(value, Variable):
            value = value()
        if isinstance(value, numbers.Real):
            value = np.float32(value)
        return self._lr(var, value)

    def _fill_slot(self, var, value, slot_name, op_name=None):
        """Creates slot ``slot_name`` of ``var`` filled with ``value`` (named like TF1's)."""
        if var.shape.is_fully_defined():
            def init():
                return fill(var.shape.as_list(), np.array(value, var.dtype.np))
        else:
            def init():
                return fill(shape(var.initialized_value()), np.array(value, var.dtype.np))
        return self._get_or_make_slot(var, init, slot_name, op_name or self._name)

    def _fused(self, kind, grad, var, slot_names, hypers, attrs=None):
        """The update op ``ResourceApply<kind>`` (or its sparse variant) for ``var``."""
        handles = [var.handle] + [self.get_slot(var, s).handle for s in slot_names]
        scalars = [self._hyper(var, h) for h in hypers]
        attrs = dict(attrs or (), use_locking=bool(self._use_locking))
        if isinstance(grad, IndexedSlices):
            return core.op("ResourceSparseApply" + kind,
                           handles + scalars + [grad.values, grad.indices], attrs,
                           name="ResourceSparseApply" + kind)
        return core.op("ResourceApply" + kind, handles + scalars + [grad], attrs,
                       name="ResourceApply" + kind)

    def _update(self, grad, var):
        raise NotImplementedError(type(self).__name__ + " must implement _update")

    def _apply_dense(self, grad, var):
        return self._update(grad, var)

    def _apply_sparse(self, grad, var):
        return self._update(grad, var)


class MomentumOptimizer(_FusedOptimizer):
    """Gradient descent with momentum: ``accum = momentum * accum + g; var -= lr * accum``.

    Args:
        learning_rate: float or scalar float Tensor.
        momentum: float or scalar float Tensor.
        use_nesterov: use Nesterov momentum (``var -= lr * (g + momentum * accum)``).

    Slot: ``"momentum"``.
    """

    def __init__(self, learning_rate, momentum, use_locking=False, name="Momentum",
                 use_nesterov=False):
        super().__init__(use_locking, name, learning_rate=learning_rate, momentum=momentum)
        self._learning_rate = learning_rate
        self._momentum = momentum
        self._use_nesterov = bool(use_nesterov)

    def _create_slots(self, var_list):
        for v in var_list:
            self._fill_slot(v, 0, "momentum")

    def _update(self, grad, var):
        return self._fused("Momentum", grad, var, ["momentum"],
                           [self._learning_rate, self._momentum],
                           {"use_nesterov": self._use_nesterov})


class AdagradOptimizer(_FusedOptimizer):
    """Adagrad: ``accum += g^2; var -= lr * g / sqrt(accum)``.

    Args:
        learning_rate: float or scalar float Tensor.
        initial_accumulator_value: starting value of the accumulators (must be positive).

    Slot: ``"accumulator"``.
    """

    def __init__(self, learning_rate, initial_accumulator_value=0.1, use_locking=False,
                 name="Adagrad"):
        if initial_accumulator_value <= 0.0:
            raise ValueError("initial_accumulator_value must be positive: %s"
                             % initial_accumulator_value)
        super().__init__(use_locking, name, learning_rate=learning_rate)
        self._learning_rate = learning_rate
        self._initial_accumulator_value = initial_accumulator_value

    def _create_slots(self, var_list):
        for v in var_list:
            self._fill_slot(v, self._initial_accumulator_value, "accumulator")

    def _update(self, grad, var):
        return self._fused("Adagrad", grad, var, ["accumulator"], [self._learning_rate])


class AdadeltaOptimizer(_FusedOptimizer):
    """Adadelta (Zeiler, 2012), scaled by ``learning_rate`` as in TF1.

    Args:
        learning_rate: float or scalar float Tensor (TF1's default 0.001, not the paper's 1.0).
        rho: decay of the running averages.
        epsilon: keeps the ratio of root-mean-squares finite.

    Slots: ``"accum"`` (running mean of g^2) and ``"accum_update"`` (of the updates squared).
    """

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-8, use_locking=False,
                 name="Adadelta"):
        super().__init__(use_locking, name, learning_rate=learning_rate, rho=rho, epsilon=epsilon)
        self._learning_rate = learning_rate
        self._rho = rho
        self._epsilon = epsilon

    def _create_slots(self, var_list):
        for v in var_list:
            self._fill_slot(v, 0, "accum")
            self._fill_slot(v, 0, "accum_update")

    def _update(self, grad, var):
        return self._fused("Adadelta", grad, var, ["accum", "accum_update"],
                           [self._learning_rate, self._rho, self._epsilon])


class RMSPropOptimizer(_FusedOptimizer):
    """RMSProp: divides the gradient by a running root-mean-square, with optional momentum.

    Args:
        learning_rate: float or scalar float Tensor.
        decay: discount of the mean square (TF1 default 0.9).
        momentum: momentum of the update (0.0: plain RMSProp).
        epsilon: added to the mean square before the square root (TF1 default 1e-10).
        centered: normalize by the estimated variance instead of the second moment.

    Slots: ``"rms"`` (starts at ONES, as in TF1), ``"momentum"``, and ``"mg"`` if centered.
    """

    def __init__(self, learning_rate, decay=0.9, momentum=0.0, epsilon=1e-10, use_locking=False,
                 centered=False, name="RMSProp"):
        super().__init__(use_locking, name, learning_rate=learning_rate, decay=decay,
                         momentum=momentum, epsilon=epsilon)
        self._learning_rate = learning_rate
        self._decay = decay
        self._momentum = momentum
        self._epsilon = epsilon
        self._centered = bool(centered)

    def _create_slots(self, var_list):
        for v in var_list:
            self._fill_slot(v, 1, "rms")
            if self._centered:
                self._fill_slot(v, 0, "mg")
            self._fill_slot(v, 0, "momentum")

    def _update(self, grad, var):
        hypers = [self._learning_rate, self._decay, self._momentum, self._epsilon]
        if self._centered:
            return self._fused("CenteredRMSProp", grad, var, ["mg", "rms", "momentum"], hypers)
        return self._fused("RMSProp", grad, var, ["rms", "momentum"], hypers)


class AdamOptimizer(_FusedOptimizer):
    """Adam (Kingma & Ba, 2015), with TF1's formulation.

    ``lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)``;
    ``m = beta1*m + (1-beta1)*g``; ``v = beta2*v + (1-beta2)*g^2``;
    ``var -= lr_t * m / (sqrt(v) + epsilon)``.
    ``beta1^t``/``beta2^t`` are non-slot variables ``beta1_power``/``beta2_power``, one
    pair per graph, multiplied by beta1/beta2 after all variables are updated.

    Slots: ``"m"`` and ``"v"``. An ``IndexedSlices`` gradient still decays every row of
    ``m`` and ``v`` (TF1's AdamOptimizer; only LazyAdam restricts the update to the rows).
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8,
                 use_locking=False, name="Adam"):
        super().__init__(use_locking, name, learning_rate=learning_rate, beta1=beta1, beta2=beta2,
                         epsilon=epsilon)
        self._learning_rate = learning_rate
        self._beta1 = beta1
        self._beta2 = beta2
        self._epsilon = epsilon
        self._non_slot_dict = {}  # (name, graph) -> Variable

    # --- non-slot variables (one per graph, not per variable) ---
    def _create_non_slot_variable(self, initial_value, name, colocate_with):
        graph = colocate_with.graph
        key = (name, graph)
        v = self._non_slot_dict.get(key)
        if v is None:
            with graph.as_default(), graph.colocate_with(colocate_with.op):
                v = Variable(initial_value, name=name, trainable=False)
            self._non_slot_dict[key] = v
        return v

    def _get_non_slot_variable(self, name, graph=None):
        graph = graph or get_default_graph()
        while graph.outer_graph is not None:  # a cond branch's updates use the root's
            graph = graph.outer_graph
        return self._non_slot_dict.get((name, graph))

    def _non_slot_variables(self):
        return list(self._non_slot_dict.values())

    def _get_beta_accumulators(self, graph=None):
        return (self._get_non_slot_variable("beta1_power", graph),
                self._get_non_slot_variable("beta2_power", graph))

    def variables(self):
        """The optimizer's variables in the default graph (beta powers and slots), by name."""
        graph = get_default_graph()
        own = [v for v in self._non_slot_variables() + super().variables() if v.graph is graph]
        return sorted(own, key=lambda v: v.name)

    def _create_slots(self, var_list):
        first = min(var_list, key=lambda v: v.name)
        self._create_non_slot_variable(self._beta1, "beta1_power", first)
        self._create_non_slot_variable(self._beta2, "beta2_power", first)
        for v in var_list:
            self._fill_slot(v, 0, "m")
            self._fill_slot(v, 0, "v")

    def _update(self, grad, var):
        beta1_power, beta2_power = self._get_beta_accumulators(var.graph)
        return self._fused("Adam", grad, var, ["m", "v"],
                           [beta1_power, beta2_power, self._learning_rate, self._beta1,
                            self._beta2, self._epsilon])

    def _finish(self, update_ops, name_scope_):
        graph = update_ops[0].graph if update_ops else get_default_graph()
        beta1_power, beta2_power = self._get_beta_accumulators(graph)
        with graph.control_dependencies(update_ops), graph.colocate_with(beta1_power.op):
            update_beta1 = beta1_power.assign(
                beta1_power * self._power_factor(self._beta1, beta1_power), name="update_beta1")
            update_beta2 = beta2_power.assign(
                beta2_power * self._power_factor(self._beta2, beta2_power), name="update_beta2")
        return group(*update_ops + [update_beta1.op, update_beta2.op], name=name_scope_)

    @staticmethod
    def _power_factor(beta, power):
        beta = beta() if callable(beta) and not isinstance(beta, Variable) else beta
        if isinstance(beta, Variable):
            t = _read_where_held(beta)
        else:
            t = core.convert_to_tensor(beta, dtype=power.dtype) \
                if isinstance(beta, (numbers.Real, np.ndarray)) else core.convert_to_tensor(beta)
        return t if t.dtype is power.dtype else cast(t, power.dtype)


class FtrlOptimizer(_FusedOptimizer):
    """FTRL-Proximal (McMahan et al., 2013), with L1/L2 and L2-shrinkage regularization.

    Args:
        learning_rate: float or scalar float Tensor.
        learning_rate_power: the power of the per-coordinate rate (<= 0; -0.5 by default).
        initial_accumulator_value: starting value of the ``accum`` slots (>= 0).
        l1_regularization_strength, l2_regularization_strength: >= 0.
        l2_shrinkage_regularization_strength: L2 applied to the gradient (magnitude penalty).
        beta: added to the L2 strength as ``beta / (2 * learning_rate)``.

    Slots: ``"accum"`` and ``"linear"``.
    """

    def __init__(self, learning_rate, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                 use_locking=False, name="Ftrl", accum_name=None, linear_name=None,
                 l2_shrinkage_regularization_strength=0.0, beta=None):
        for what, value, bad, need in (
                ("initial_accumulator_value", initial_accumulator_value, lambda x: x < 0.0,
                 "positive or zero"),
                ("learning_rate_power", learning_rate_power, lambda x: x > 0.0, "negative or zero"),
                ("l1_regularization_strength", l1_regularization_strength, lambda x: x < 0.0,
                 "positive or zero"),
                ("l2_regularization_strength", l2_regularization_strength, lambda x: x < 0.0,
                 "positive or zero"),
                ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength,
                 lambda x: x < 0.0, "positive or zero")):
            if isinstance(value, numbers.Real) and bad(value):
                raise ValueError("%s %f needs to be %s" % (what, value, need))
        super().__init__(use_locking, name, learning_rate=learning_rate,
                         learning_rate_power=learning_rate_power,
                         l1_regularization_strength=l1_regularization_strength,
                         l2_regularization_strength=l2_regularization_strength,
                         l2_shrinkage_regularization_strength=l2_shrinkage_regularization_strength)
        self._learning_rate = learning_rate
        self._learning_rate_power = learning_rate_power
        self._initial_accumulator_value = initial_accumulator_value
        self._l1 = l1_regularization_strength
        self._l2 = l2_regularization_strength
        self._beta = 0.0 if beta is None else beta
        self._l2_shrinkage = l2_shrinkage_regularization_strength
        self._accum_name = accum_name
        self._linear_name = linear_name

    def _create_slots(self, var_list):
        for v in var_list:
            self._fill_slot(v, self._initial_accumulator_value, "accum", self._accum_name)
            self._fill_slot(v, 0, "linear", self._linear_name)

    def _update(self, grad, var):
        l2, beta, lr = self._l2, self._beta, self._learning_rate
        if all(isinstance(x, numbers.Real) for x in (l2, beta, lr)):
            l2 = l2 + beta / (2.0 * lr)  # in Python floats, as TF1 does
        else:
            l2 = self._hyper(var, l2) + self._hyper(var, beta) / (2.0 * self._hyper(var, lr))
        return self._fused("FtrlV2", grad, var, ["accum", "linear"],
                           [self._learning_rate, self._l1, l2, self._l2_shrinkage,
                            self._learning_rate_power])


# ----------------------------------------------------------------------------------------------
# External optimizers (SciPy)
# ----------------------------------------------------------------------------------------------
def _dense(grad, var):
    if grad is None:
        return zeros_like(var)
    return core.convert_to_tensor(grad)


def _pack(tensors):
    """One float64 vector holding all ``tensors``, flattened."""
    flat = [reshape(t if t.dtype.name == "float64" else cast(t, "float64"), [-1]) for t in tensors]
    return flat[0] if len(flat) == 1 else concat(flat, 0)


class ExternalOptimizerInterface:
    """Base of optimizers that run outside the graph on a flat float64 vector of all variables.

    The loss and its gradient (and those of any constraints) are evaluated with one
    ``session.run`` per call by feeding the variables' reads, so the variables keep their
    values while the external optimizer probes points; ``minimize`` writes the result back.
    Subclasses implement ``_minimize``.

    Args:
        loss: scalar Tensor to minimize.
        var_list: variables to optimize (default: trainable variables).
        equalities: Tensors that must be 0 at the solution.
        inequalities: Tensors that must be >= 0 at the solution.
        var_to_bounds: {variable: (low, high)}; low/high broadcast to the variable's shape
            (use -inf/inf for no bound).
        **optimizer_kwargs: passed to the external optimizer.
    """

    def __init__(self, loss, var_list=None, equalities=None, inequalities=None,
                 var_to_bounds=None, **optimizer_kwargs):
        self._loss = core.convert_to_tensor(loss)
        self._equalities = list(equalities or [])
        self._inequalities = list(inequalities or [])
        self._vars = trainable_variables() if var_list is None else list(var_list)
        if not self._vars:
            raise ValueError("No variables to optimize.")
        for v in self._vars:
            if not v.shape.is_fully_defined():
                raise ValueError("Variable %s needs a fully defined shape, got %s"
                                 % (v.name, v.shape))
        self._shapes = [tuple(v.shape.as_list()) for v in self._vars]
        sizes = [int(np.prod(s)) for s in self._shapes]
        ends = np.cumsum(sizes)
        self._slices = [slice(int(e - n), int(e)) for e, n in zip(ends, sizes)]
        self._packed_bounds = None
        if var_to_bounds is not None:
            low, high = [], []
            for v, s in zip(self._vars, self._shapes):
                lo, hi = var_to_bounds.get(v, (-np.inf, np.inf))
                low.extend(np.broadcast_to(np.asarray(-np.inf if lo is None else lo, np.float64),
                                           s).ravel())
                high.extend(np.broadcast_to(np.asarray(np.inf if hi is None else hi, np.float64),
                                            s).ravel())
            self._packed_bounds = list(zip(low, high))
        self.optimizer_kwargs = optimizer_kwargs
        graph = self._loss.graph
        with graph.as_default():
            self._packed_var = _pack([v.value() for v in self._vars])
            self._packed_loss_grad = self._packed_grad(self._loss)
            self._packed_equality_grads = [self._packed_grad(c) for c in self._equalities]
            self._packed_inequality_grads = [self._packed_grad(c) for c in self._inequalities]
            self._update_placeholders = [placeholder(v.dtype, s) for v, s in
                                         zip(self._vars, self._shapes)]
            self._var_updates = group(*[v.assign(p) for v, p in
                                        zip(self._vars, self._update_placeholders)])

    def _packed_grad(self, tensor):
        grads = gradients(tensor, self._vars)
        return _pack([_dense(g, v) for g, v in zip(grads, self._vars)])

    def minimize(self, session=None, feed_dict=None, fetches=None, step_callback=None,
                 loss_callback=None, **run_kwargs):
        """Minimizes the loss, then writes the solution into the variables.

        Args:
            session: the session (default: the default session).
            feed_dict: feeds for the loss (e.g. data placeholders).
            fetches: extra tensors computed at each evaluation and passed to ``loss_callback``.
            step_callback: ``f(packed_vars)`` called by the optimizer after each iteration.
            loss_callback: ``f(*fetched_values)`` called after each loss evaluation.
        """
        from ..runtime.session import get_default_session
        session = session or get_default_session()
        if session is None:
            raise ValueError("No session: pass one, or run inside `with tf.Session():`")
        feed_dict = dict(feed_dict or {})
        fetches = list(fetches or [])
        loss_grad = self._make_eval_func([self._loss, self._packed_loss_grad], session,
                                         feed_dict, fetches, loss_callback)
        eq = [self._make_eval_func(c, session, feed_dict, []) for c in self._equalities]
        eq_grads = [self._make_eval_func(g, session, feed_dict, [])
                    for g in self._packed_equality_grads]
        ineq = [self._make_eval_func(c, session, feed_dict, []) for c in self._inequalities]
        ineq_grads = [self._make_eval_func(g, session, feed_dict, [])
                      for g in self._packed_inequality_grads]
        x0 = session.run(self._packed_var, feed_dict)
        x = self._minimize(initial_val=x0, loss_grad_func=loss_grad, equality_funcs=eq,
                           equality_grad_funcs=eq_grads, inequality_funcs=ineq,
                           inequality_grad_funcs=ineq_grads, packed_bounds=self._packed_bounds,
                           step_callback=step_callback or (lambda xk: None),
                           optimizer_kwargs=self.optimizer_kwargs)
        session.run(self._var_updates, feed_dict=self._unpack_feed(x, self._update_placeholders),
                    **run_kwargs)

    def _unpack_feed(self, x, keys):
        x = np.asarray(x, np.float64)
        return {k: x[s].reshape(shp) for k, s, shp in zip(keys, self._slices, self._shapes)}

    def _make_eval_func(self, tensors, session, feed_dict, fetches, callback=None):
        """f(x) -> values of ``tensors`` with the variables set to the packed vector ``x``."""
        single = not isinstance(tensors, list)
        tensors = [tensors] if single else tensors
        targets = tensors + fetches
        reads = [[c._outputs[0] for c in v.handle.consumers() if c.type == "ReadVariableOp"]
                 for v in self._vars]
        # Variables used other than through a read (e.g. a gather on the handle) must be
        # written before the evaluation; all others are fed, leaving the session's state alone.
        from ..runtime.plan import prune
        graph = self._loss.graph
        fed = {t for rs in reads for t in rs} | {graph.as_graph_element(k) for k in feed_dict}
        elements = [graph.as_graph_element(t) for t in targets]
        needed = set(prune([e for e in elements if isinstance(e, Tensor)],
                           [e for e in elements if not isinstance(e, Tensor)], fed))
        must_write = any(v.handle.op in needed for v in self._vars)

        def eval_func(x):
            feeds = dict(feed_dict)
            if must_write:
                session.run(self._var_updates, self._unpack_feed(x, self._update_placeholders))
            else:
                for rs, value in zip(reads, self._unpack_feed(x, range(len(reads))).values()):
                    feeds.update({r: value for r in rs})
            values = session.run(targets, feeds)
            if callback is not None:
                callback(*values[len(tensors):])
            out = values[:len(tensors)]
            return out[0] if single else out
        return eval_func

    def _minimize(self, initial_val, loss_grad_func, equality_funcs, equality_grad_funcs,
                  inequality_funcs, inequality_grad_funcs, packed_bounds, step_callback,
                  optimizer_kwargs):
        """Runs the external optimizer from ``initial_val``; returns the packed solution."""
        raise NotImplementedError(type(self).__name__ + " must implement _minimize")


class ScipyOptimizerInterface(ExternalOptimizerInterface):
    """Minimizes with ``scipy.optimize.minimize`` (default method L-BFGS-B).

    Example:
        >>> opt = tf.contrib.opt.ScipyOptimizerInterface(loss, options={"maxiter": 100})
        >>> with tf.Session() as sess:
        ...     sess.run(tf.global_variables_initializer())
        ...     opt.minimize(sess)
    """

    _DEFAULT_METHOD = "L-BFGS-B"

    def _minimize(self, initial_val, loss_grad_func, equality_funcs, equality_grad_funcs,
                  inequality_funcs, inequality_grad_funcs, packed_bounds, step_callback,
                  optimizer_kwargs):
        try:
            import scipy.optimize
        except ImportError:
            raise ImportError("ScipyOptimizerInterface needs scipy: pip install scipy") from None

        def loss_grad(x):
            loss, grad = loss_grad_func(x)
            return float(loss), np.asarray(grad, np.float64)  # L-BFGS-B wants float64

        kwargs = dict(optimizer_kwargs)
        method = kwargs.pop("method", self._DEFAULT_METHOD)
        constraints = [{"type": "eq", "fun": f, "jac": g}
                       for f, g in zip(equality_funcs, equality_grad_funcs)]
        constraints += [{"type": "ineq", "fun": f, "jac": g}
                        for f, g in zip(inequality_funcs, inequality_grad_funcs)]
        auto = {"jac": True, "callback": step_callback, "method": method,
                "bounds": packed_bounds}
        if constraints:
            auto["constraints"] = constraints
        for key in ("jac", "callback", "method", "constraints", "bounds"):
            if key in kwargs:
                if key == "bounds":
                    raise ValueError("Bounds must be set using the var_to_bounds argument")
                raise ValueError("Optimizer keyword arg '%s' is set automatically and cannot be "
                                 "injected manually" % key)
        auto.update(kwargs)
        result = scipy.optimize.minimize(loss_grad, initial_val, **auto)
        logging.getLogger("tfnb").info(
            "Optimization terminated with:\n  Message: %s\n  Objective function value: %f%s",
            result.message, result.fun,
            "".join("\n  Number of %s: %d" % (label, result[key])
                    for key, label in (("nit", "iterations"), ("nfev", "functions evaluations"))
                    if key in result))
        return result["x"]
