"""Ops whose bodies are graph functions: ``Call``, ``While``, ``If`` and their gradients.

Why functional control flow (and not the seed design's Switch/Merge/Enter/Exit frames):
tfnb runs each plan as one generated Python function over a flat list of kernels, so a
loop body that is itself a compiled plan, called by a ``While`` kernel in a Python loop,
fits the executor directly and costs one call per iteration -- no frame bookkeeping per
op. A body is still a graph (visible, exportable, placeable as one node), only the
taken branch of an ``If`` runs (so its side effects are the only ones that happen), and
the gradients are ordinary graph functions built by ``tf.gradients`` inside the body
(see tfnb/framework/function.py: each op keeps a per-call or per-iteration *stash* of
the forward values its backward pass reads, so nothing is recomputed and memory grows
with the iterations actually run).

Every op here has one extra last output, of dtype ``variant``: the stash. A kernel
fills it only when the plan it is compiled into reads it (i.e. a gradient op runs).
"""
import numpy as np

from ..framework import dtypes, errors
from ..framework.function import GraphFunction, _Stash
from ..framework.registry import register_op
from ..framework.tensor_shape import TensorShape
from . import core

__all__ = []

_VARIANT = (dtypes.variant, TensorShape([]))


def _stash_needed(op, ctx):
    live = ctx.live_outputs
    return live is None or (len(op._outputs) - 1) in live


def _grad_specs(f):
    gi = f.build_gradient()
    return [(t.dtype, t.shape) for t in gi["input_grads"] if t is not None]


def _dys_for(op, f, grads):
    """The gradients of ``f``'s differentiable outputs (zeros for those that got none)."""
    gi = f.build_gradient()
    return [grads[i] if grads[i] is not None else _zeros(op._outputs[i]) for i in gi["diff_out"]]


register_op("NoGradient", infer=lambda op: [(op._attrs["dtype"], TensorShape([]))],
            kernel=lambda op, ctx: lambda: None, grad=None,
            doc="The zero gradient of a variant value (e.g. a TensorArray): None at run time.")


def _add_variants_kernel(op, ctx):
    def add_variants(*values):
        acc = None
        for v in values:
            if v is not None:
                acc = v if acc is None else acc + v
        return acc
    return add_variants


register_op("AddVariants", infer=lambda op: [(op._inputs[0].dtype, TensorShape([]))],
            kernel=_add_variants_kernel, grad=lambda op, g: [g] * len(op._inputs),
            doc="Sums variant gradients (e.g. of TensorArrays: their values define +; None is 0).")


def _zeros(t):
    """A zero gradient for ``t``: zeros for arrays, None for variant values."""
    from .array_ops import zeros_like
    if t.dtype is dtypes.variant:
        return core.out("NoGradient", [], {"dtype": t.dtype})
    return zeros_like(t)


def _zero_like_value(v, xp):
    return None if v is None or not hasattr(v, "shape") or not hasattr(v, "dtype") \
        or v.dtype == "variant" else xp.zeros_like(v)


def _scatter_grads(op, f, grad_op, first_input=0):
    """Maps a gradient op's outputs back to ``op``'s inputs (None where there is none)."""
    gi = f.build_gradient()
    res = [None] * len(op._inputs)
    k = 0
    for j, t in zip(gi["diff_in"], gi["input_grads"]):
        if t is not None:
            res[first_input + j] = grad_op._outputs[k]
            k += 1
    return res


# ----------------------------------------------------------------------------------------------
# Call: a function called like an op
# ----------------------------------------------------------------------------------------------
def _call_infer(op):
    f = op._attrs["f"]
    return [(t.dtype, t.shape) for t in f.outputs] + [_VARIANT]


def _call_kernel(op, ctx):
    f = op._attrs["f"]
    with_stash = _stash_needed(op, ctx)
    plan = f.forward_plan(ctx, with_stash)
    n = len(f.outputs)

    def call(*args):
        vals = plan(list(args))
        return tuple(vals[:n]) + (_Stash(vals[n:]) if with_stash else None,)
    return call


def _call_grad(op, *grads):
    f = op._attrs["f"]
    n_args = len(f.arg_inputs)
    user = op._attrs.get("python_grad_func")
    if user is not None:  # python_grad_func(op, *output_grads) -> input gradients
        return _pad(list(user(op, *grads[:-1])), len(op._inputs))
    user = op._attrs.get("grad_func")
    if user is not None:  # a function of (inputs..., output_grads...) -> input gradients
        dys = [g if g is not None else _zeros(t) for g, t in zip(grads[:-1], op._outputs[:-1])]
        res = user(*(list(op._inputs[:n_args]) + dys))
        return _pad(list(res) if isinstance(res, (list, tuple)) else [res], len(op._inputs))
    if not _grad_specs(f):
        return [None] * len(op._inputs)
    g = core.op("CallGrad", [op._outputs[-1]] + _dys_for(op, f, grads), {"f": f})
    return _scatter_grads(op, f, g)


def _results(values):
    """Kernel return convention: one array for a single output, a tuple for several."""
    values = list(values)
    return values[0] if len(values) == 1 else tuple(values)


def _pad(grads, n):
    """Gradients for the first inputs, None for the rest (the captured inputs)."""
    return grads + [None] * (n - len(grads))


def _call_grad_kernel(op, ctx):
    plan = op._attrs["f"].backward_plan(ctx)

    def call_grad(stash, *dys):
        return _results(plan(list(stash.values) + list(dys)))
    return call_grad


register_op("Call", infer=_call_infer, kernel=_call_kernel, grad=_call_grad, stateful=True,
            doc="Runs a graph function; outputs its results and a stash for its gradient.")
register_op("CallGrad", infer=lambda op: _grad_specs(op._attrs["f"]), kernel=_call_grad_kernel,
            grad=None, stateful=True, doc="The backward pass of a Call, from its stash.")


def call_function(f, args, name=None):
    """Adds a Call of graph function ``f`` on ``args`` (plus its captures); returns outputs."""
    ins = [core.convert_to_tensor(a) for a in args] + f.captured_inputs
    o = core.op("Call", ins, {"f": f}, name=name or f.name)
    return list(o._outputs[:-1])


# ----------------------------------------------------------------------------------------------
# While
# ----------------------------------------------------------------------------------------------
def _while_infer(op):
    body = op._attrs["body"]
    return [(t.dtype, t.shape) for t in body.arg_inputs] + [_VARIANT]


def _while_kernel(op, ctx):
    a = op._attrs
    cond_f, body_f = a["cond"], a["body"]
    n, n_cond = len(body_f.arg_inputs), len(cond_f.captured_inputs)
    has_max = a["has_max"]
    with_stash = _stash_needed(op, ctx) and a["back_prop"]
    cond_plan = cond_f.forward_plan(ctx, False)
    body_plan = body_f.forward_plan(ctx, with_stash)
    name = op.name

    def while_loop(*args):
        loop = list(args[:n])
        cond_caps = list(args[n:n + n_cond])
        body_caps = list(args[n + n_cond:len(args) - (1 if has_max else 0)])
        limit = int(args[-1]) if has_max else None
        stash = [] if with_stash else None
        i = 0
        while limit is None or i < limit:
            pred = cond_plan(loop + cond_caps)[0]
            if np.ndim(pred) != 0:
                raise errors.InvalidArgumentError(
                    None, None, "The condition of while loop %s must be a scalar bool, got shape %s"
                    % (name, np.shape(pred)))
            if not pred:
                break
            vals = body_plan(loop + body_caps)
            loop = list(vals[:n])
            if stash is not None:
                stash.append(vals[n:])
            i += 1
        return tuple(loop) + (_Stash(stash, i) if with_stash else None,)
    return while_loop


def _while_grad(op, *grads):
    a = op._attrs
    body_f = a["body"]
    if not a["back_prop"]:
        return [None] * len(op._inputs)
    gi = body_f.build_gradient()
    if not _grad_specs(body_f):
        return [None] * len(op._inputs)
    n = len(body_f.arg_inputs)
    diff_vars = [i for i in range(n) if i in gi["diff_in"]]
    if set(gi["diff_out"]) != set(diff_vars):
        raise ValueError("while loop %s: the differentiable loop variables of body inputs and "
                         "outputs differ" % op.name)
    dys = _dys_for(op, body_f, grads)
    n_cond = len(a["cond"].captured_inputs)
    body_caps = list(op._inputs[n + n_cond:n + n_cond + len(body_f.captured_inputs)])
    g = core.op("WhileGrad", [op._outputs[-1]] + body_caps + dys,
                {"body": body_f, "name_of_loop": op.name})
    # WhileGrad outputs: grads of the differentiable loop vars, then of the body captures.
    res = [None] * len(op._inputs)
    k = 0
    for j in gi["diff_in"]:
        if j < n:
            res[j] = g._outputs[k]
        else:
            res[n + n_cond + (j - n)] = g._outputs[k]
        k += 1
    return res


def _while_grad_infer(op):
    body_f = op._attrs["body"]
    gi = body_f.build_gradient()
    out = []
    for j, t in zip(gi["diff_in"], gi["input_grads"]):
        src = body_f.inputs[j]
        if src.dtype is dtypes.resource:
            if t is None:
                raise ValueError("no gradient for the variable read in loop %s"
                                 % op._attrs["name_of_loop"])
            out.append((t.dtype, t.shape))
        else:
            out.append((src.dtype, src.shape))
    return out


def _zeros_for(value, xp):
    """Zeros shaped like a capture's value (a variable's value for a resource handle; None,
    the zero gradient, for a variant value such as a TensorArray)."""
    v = value.read() if hasattr(value, "read") else value
    return _zero_like_value(v, xp)


def _while_grad_kernel(op, ctx):
    body_f = op._attrs["body"]
    gi = body_f.build_gradient()
    plan = body_f.backward_plan(ctx)
    n = len(body_f.arg_inputs)
    n_caps = len(body_f.captured_inputs)
    slots = gi["diff_in"]
    present = [t is not None for t in gi["input_grads"]]
    var_pos = {j: gi["diff_out"].index(j) for j in slots if j < n}
    xp = ctx.xp

    def while_grad(stash, *rest):
        caps, dys = rest[:n_caps], rest[n_caps:]
        g_loop = list(dys)  # gradients w.r.t. the loop variables after the current iteration
        acc = [None] * len(slots)  # accumulated gradients of the captures
        owned = [False] * len(slots)  # acc[idx] is our own array: add in place from now on
        for it in reversed(stash.values):
            out = plan(list(it) + g_loop)
            new_loop = [None] * len(g_loop)
            k = 0
            for idx, j in enumerate(slots):
                v = None
                if present[idx]:
                    v = out[k]
                    k += 1
                if j < n:
                    new_loop[var_pos[j]] = v
                elif v is not None:
                    if acc[idx] is None:
                        acc[idx] = v
                    elif owned[idx]:
                        acc[idx] += v
                    else:
                        acc[idx] = acc[idx] + v
                        owned[idx] = isinstance(acc[idx], np.ndarray) or xp is not np
            g_loop = [v if v is not None else _zero_like_value(old, xp)
                      for v, old in zip(new_loop, g_loop)]
        result = []
        for idx, j in enumerate(slots):
            if j < n:
                result.append(g_loop[var_pos[j]])
            else:  # no iteration ran: zero gradient for the capture
                result.append(acc[idx] if acc[idx] is not None else _zeros_for(caps[j - n], xp))
        return _results(result)
    return while_grad


register_op("While", infer=_while_infer, kernel=_while_kernel, grad=_while_grad, stateful=True,
            doc="Runs body while cond holds; loop variables in, final values out.")
register_op("WhileGrad", infer=_while_grad_infer, kernel=_while_grad_kernel, grad=None,
            stateful=True, doc="Backward pass of a While, iterating over its stash in reverse.")


# ----------------------------------------------------------------------------------------------
# If
# ----------------------------------------------------------------------------------------------
def _if_infer(op):
    t = op._attrs["then"]
    e = op._attrs["else"]
    out = []
    for a, b in zip(t.outputs, e.outputs):
        out.append((a.dtype, a.shape.most_specific_compatible_shape(b.shape)))
    return out + [_VARIANT]


def _if_kernel(op, ctx):
    t_f, e_f = op._attrs["then"], op._attrs["else"]
    n_then = len(t_f.captured_inputs)
    with_stash = _stash_needed(op, ctx)
    plans = (e_f.forward_plan(ctx, with_stash), t_f.forward_plan(ctx, with_stash))
    n = len(t_f.outputs)
    name = op.name

    def if_(pred, *caps):
        if np.ndim(pred) != 0:
            raise errors.InvalidArgumentError(None, None, "The predicate of cond %s must be a "
                                              "scalar bool, got shape %s" % (name, np.shape(pred)))
        taken = bool(pred)
        vals = plans[taken](list(caps[:n_then]) if taken else list(caps[n_then:]))
        return tuple(vals[:n]) + (_Stash(vals[n:], taken) if with_stash else None,)
    return if_


def _if_grad(op, *grads):
    t_f, e_f = op._attrs["then"], op._attrs["else"]
    n_then = len(t_f.captured_inputs)
    res = [None] * len(op._inputs)
    dys = [g if g is not None else _zeros(op._outputs[i]) for i, g in enumerate(grads[:-1])]
    for branch, offset in ((t_f, 1), (e_f, 1 + n_then)):
        gi = branch.build_gradient()
        if not _grad_specs(branch):
            continue
        n_caps = len(branch.captured_inputs)
        caps = list(op._inputs[offset:offset + n_caps])
        g = core.op("IfGrad", [op._inputs[0], op._outputs[-1]] + caps +
                    [dys[i] for i in gi["diff_out"]], {"branch": branch, "is_then": branch is t_f})
        res_branch = _scatter_grads(op, branch, g, first_input=offset)
        for i, v in enumerate(res_branch):
            if v is not None:
                res[i] = v
    return res


def _if_grad_kernel(op, ctx):
    branch = op._attrs["branch"]
    is_then = op._attrs["is_then"]
    plan = branch.backward_plan(ctx)
    gi = branch.build_gradient()
    n_caps = len(branch.captured_inputs)
    present = [j for j, t in zip(gi["diff_in"], gi["input_grads"]) if t is not None]
    xp = ctx.xp

    def if_grad(pred, stash, *rest):
        caps, dys = rest[:n_caps], rest[n_caps:]
        if bool(pred) == is_then:
            return _results(plan(list(stash.values) + list(dys)))
        # The other branch ran: this branch's captures get zero gradients.
        return _results([_zeros_for(caps[j], xp) for j in present])
    return if_grad


register_op("If", infer=_if_infer, kernel=_if_kernel, grad=_if_grad, stateful=True,
            doc="Runs the then or the else function depending on a scalar bool predicate.")
register_op("IfGrad", infer=lambda op: _grad_specs(op._attrs["branch"]), kernel=_if_grad_kernel,
            grad=None, stateful=True, doc="Backward pass of one branch of an If.")

