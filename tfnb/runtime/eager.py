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

Eager evaluation never advances the session's random generators: it draws from
copies. So the value shown for ``tf.random_normal([2], seed=1)`` is the value its
first ``run`` will give, and a seeded ``tf.Variable(tf.truncated_normal(...))``
initialized at creation holds exactly what the first run of
``global_variables_initializer()`` gives it again -- TF1's numbers.

Where it is on: every ``tf.InteractiveSession`` is eager unless
``tf.disable_eager_execution()`` was called (plain scripts, ``python -i`` and
notebooks alike); ``tf.Session`` never is. Inside IPython/Jupyter (or after
``tf.enable_eager_execution()``) each new default graph also gets an eager
interactive session of its own, so cells show values without any session code.
"""
import copy
import sys

import numpy as np

from ..framework import errors
from ..framework import graph as _graph
from .state import VariableSlot

__all__ = ["EagerEvaluator", "enable_eager_execution", "disable_eager_execution",
           "executing_eagerly", "eager_enabled"]

_MISSING = object()
_NO_DEPS = {}

# ``np.errstate(all="ignore")`` around each eager kernel call costs more than the kernel of a
# small op; NumPy 2 keeps the error state in a context variable, which eager evaluation sets
# directly to the same ignore-state errstate would build (kept per current state). Older
# NumPy: np.errstate itself.
try:
    from numpy._core.umath import _extobj_contextvar as _fp_state, _make_extobj
except ImportError:  # NumPy 1.x
    _fp_state = _make_extobj = None
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
    """Whether new default graphs get an eager interactive session (IPython, or forced on)."""
    return _in_ipython() if _eager_mode is None else _eager_mode


def interactive_sessions_eager():
    """Whether a new ``InteractiveSession`` evaluates eagerly: yes unless turned off."""
    return _eager_mode is not False


class _EagerView:
    """The session state as eager evaluation sees it: random generators are copies.

    Evaluating an op at creation must leave the session as a TF1 program expects it: a
    random op draws from a copy of its generator, so the session's own stream still
    starts at its first sample when the op (or an initializer using it) first runs.
    Everything else (variables, queues) is the session's own; function bodies compiled for
    eager evaluation are cached apart from the session's (``GraphFunction.forward_plan``).
    """

    __slots__ = ("_state",)

    def __init__(self, state):
        self._state = state

    def __getattr__(self, name):
        return getattr(self._state, name)

    def resource(self, key, factory):
        r = self._state.resource(key, factory)
        if isinstance(r, np.random.Generator):
            return copy.deepcopy(r)
        return r


class EagerEvaluator:
    """Computes and caches the values of new tensors for one InteractiveSession.

    Each evaluated tensor has one entry ``(value, deps)``: ``deps`` maps the variable
    slots the value was computed from to their versions then (``_NO_DEPS`` if none).
    Creating an op costs one kernel call; a constant costs none (its value is its attr).
    """

    def __init__(self, session):
        from ..framework.registry import get_op_def
        from .state import KernelContext
        self.session = session
        base = session._ctx
        self.ctx = KernelContext(_EagerView(base.state), base.xp, base.device, session, eager=True)
        self.entries = {}
        # On NumPy a Const's kernel returns its (read-only) attr value: take it directly.
        self._const = get_op_def("Const") if base.xp is np else None
        self._fp = (None, None)  # (NumPy error state, the same with all errors ignored)

    def _on_op_created(self, op):
        odef = op._op_def
        if odef is self._const:
            self.entries[op._outputs[0]] = (op._attrs["value"], _NO_DEPS)
            return
        if odef.side_effects:
            return
        entries = self.entries
        vals = []
        deps = None
        for t in op._inputs:
            e = entries.get(t)
            if e is None:
                return
            v, d = e
            if d:
                v = self.value(t)  # re-checks the versions of the variables it read
                if v is None:
                    return
                d = entries[t][1]
            if type(v) is VariableSlot:
                d = {v: v.version}
            if d:
                if deps is None:
                    deps = dict(d)
                else:
                    deps.update(d)
            vals.append(v)
        try:
            kernel = odef.kernel(op, self.ctx)
        except errors.OpError:
            return  # e.g. a placeholder: not computable without a feed
        try:
            if _fp_state is not None:
                cur = _fp_state.get()
                fp = self._fp
                if fp[0] is not cur:
                    fp = self._fp = (cur, _make_extobj(all="ignore"))
                token = _fp_state.set(fp[1])
                try:
                    out = kernel(*vals)
                finally:
                    _fp_state.reset(token)
            else:
                with np.errstate(all="ignore"):
                    out = kernel(*vals)
        except errors.FailedPreconditionError:
            return  # e.g. reads an uninitialized variable
        except Exception as exc:  # noqa: BLE001 - reported with the op's name, as in TF eager
            from .plan import _wrap_error
            raise _wrap_error(exc, op, vals) from None
        outs = op._outputs
        d = deps if deps is not None else _NO_DEPS
        if len(outs) == 1:
            entries[outs[0]] = (out, d)
        else:
            for t, v in zip(outs, out):
                entries[t] = (v, d)

    def value(self, tensor):
        """The current value of ``tensor``, recomputed if a variable it read has changed."""
        e = self.entries.get(tensor)
        if e is None:
            return None
        v, d = e
        if d and any(s.version != ver for s, ver in d.items()):
            # Versions are read before the run: a write by another thread during the run
            # leaves the new value marked stale (recomputed again), never an old one fresh.
            versions = {s: s.version for s in d}
            try:
                v = self.session.run(tensor)
            except errors.OpError:
                return None
            self.entries[tensor] = (v, versions)
        return v

    _cached_value = value


def _attach(graph):
    """Gives ``graph`` eager evaluation (if it has none).

    The user's open interactive session on ``graph`` turns eager; otherwise tfnb attaches
    an interactive session of its own (replaced by one the user creates later).
    """
    if graph._eager_evaluator is not None:
        return
    from .session import InteractiveSession, get_default_session
    sess = get_default_session()
    if isinstance(sess, InteractiveSession) and sess.graph is graph and not sess._closed:
        sess._start_eager()
    else:
        InteractiveSession(graph=graph, eager=True, _implicit=True)


def _on_new_default_graph(graph):
    if eager_enabled():
        _attach(graph)


_graph._new_default_graph_hooks.append(_on_new_default_graph)


def enable_eager_execution(config=None, device_policy=None, execution_mode=None):
    """Turns eager evaluation on: for the default graph, future default graphs and
    interactive sessions."""
    global _eager_mode
    _eager_mode = True
    _attach(_graph.get_default_graph())


def disable_eager_execution():
    """Turns eager evaluation off: classic lazy TF1 graphs and interactive sessions.

    Call it before creating an ``InteractiveSession``. The default graph stops being
    evaluated eagerly: the interactive session tfnb attached to it is closed, one the
    user created keeps running, lazily.
    """
    global _eager_mode
    _eager_mode = False
    g = _graph.get_default_graph()
    ev = g._eager_evaluator
    if ev is not None:
        if ev.session._implicit:
            ev.session.close()
        else:
            ev.session._stop_eager()


def executing_eagerly():
    """True when new tensors of the default graph are evaluated as they are created."""
    return _graph.get_default_graph()._eager_evaluator is not None
