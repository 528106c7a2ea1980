"""Eager by default: evaluate each new tensor as soon as its inputs are computable.

When is a tensor evaluated? Exactly when its op is created in a graph that has an
eager evaluator (an ``InteractiveSession`` with eager on), and

* the op has no side effects (assignments, optimizer updates, prints and
  ``group``/``no_op`` are *not* run at creation -- they run when you ``run`` them,
  so classic TF1 code that builds a ``train_op`` and runs it in a loop behaves as
  in TF1), and
* every input already has a value: no unfed ``placeholder`` upstream (a
  ``placeholder_with_default`` counts as its default), no uninitialized variable.

The value is computed by calling the op's kernel on its inputs' cached values, so
eager evaluation costs one kernel call per op and no graph analysis. A
``tf.Variable`` is initialized when created. Cached values are never stale: each
remembers the versions of the variables it was computed from, and an access after
any of them changed (assign, optimizer step, restore) recomputes it through the
session. ``sess.run``/``eval`` keep TF1 semantics (always computed anew).

Switch: ``tf.enable_eager_execution()`` / ``tf.disable_eager_execution()``. The
default is on inside IPython/Jupyter and off in plain scripts, which therefore
pay nothing for it.
"""
import sys

import numpy as np

from ..framework import errors
from ..framework import graph as _graph
from .state import VariableSlot

__all__ = ["EagerEvaluator", "enable_eager_execution", "disable_eager_execution",
           "executing_eagerly", "eager_enabled"]

_MISSING = object()
_NO_DEPS = {}
# None: decide by environment (IPython -> on); True/False: forced by the user.
_eager_mode = None


def _in_ipython():
    ipy = sys.modules.get("IPython")
    if ipy is None:
        return False
    try:
        return ipy.get_ipython() is not None
    except Exception:  # noqa: BLE001
        return False


def eager_enabled():
    return _in_ipython() if _eager_mode is None else _eager_mode


class EagerEvaluator:
    """Computes and caches the values of new tensors for one InteractiveSession."""

    def __init__(self, session):
        from .state import KernelContext
        self.session = session
        base = session._ctx
        self.ctx = KernelContext(base.state, base.xp, base.device, session, eager=True)
        self.values = {}
        self.deps = {}

    def _on_op_created(self, op):
        odef = op._op_def
        if odef.side_effects:
            return
        vals = []
        deps = None
        for t in op._inputs:
            v = self.value(t)
            if v is None:
                return
            vals.append(v)
            d = self.deps[t]
            if isinstance(v, VariableSlot):
                d = {v: v.version}
            if d:
                if deps is None:
                    deps = dict(d)
                else:
                    deps.update(d)
        try:
            kernel = odef.kernel(op, self.ctx)
        except errors.OpError:
            return  # e.g. a placeholder: not computable without a feed
        try:
            with np.errstate(all="ignore"):
                out = kernel(*vals)
        except errors.FailedPreconditionError:
            return  # e.g. reads an uninitialized variable
        except Exception as exc:  # noqa: BLE001 - reported with the op's name, as in TF eager
            from .plan import _wrap_error
            raise _wrap_error(exc, op, vals) from None
        outs = op._outputs
        if len(outs) == 1:
            out = (out,)
        d = deps if deps is not None else _NO_DEPS
        for t, v in zip(outs, out):
            self.values[t] = v
            self.deps[t] = d

    def value(self, tensor):
        """The current value of ``tensor``, recomputed if a variable it read has changed."""
        v = self.values.get(tensor, _MISSING)
        if v is _MISSING:
            return None
        d = self.deps[tensor]
        if d and any(s.version != ver for s, ver in d.items()):
            try:
                v = self.session.run(tensor)
            except errors.OpError:
                return None
            self.values[tensor] = v
            self.deps[tensor] = {s: s.version for s in d}
        return v

    _cached_value = value


def _attach(graph):
    """Gives ``graph`` an interactive session with eager evaluation (if it has none)."""
    if graph._eager_evaluator is None:
        from .session import InteractiveSession
        InteractiveSession(graph=graph, eager=True)


def _on_new_default_graph(graph):
    if eager_enabled():
        _attach(graph)


_graph._new_default_graph_hooks.append(_on_new_default_graph)


def enable_eager_execution(config=None, device_policy=None, execution_mode=None):
    """Turns eager evaluation on for the default graph and future default graphs."""
    global _eager_mode
    _eager_mode = True
    _attach(_graph.get_default_graph())


def disable_eager_execution():
    """Turns eager evaluation off: classic lazy TF1 graphs (values only via ``run``)."""
    global _eager_mode
    _eager_mode = False
    g = _graph.get_default_graph()
    ev = g._eager_evaluator
    if ev is not None:
        ev.session.close()


def executing_eagerly():
    """True when new tensors of the default graph are evaluated as they are created."""
    return _graph.get_default_graph()._eager_evaluator is not None
