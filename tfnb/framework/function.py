"""Graph functions: a graph of its own, called from another graph as one op.

A :class:`FuncGraph` is traced from a Python function: its arguments become
placeholders, and any tensor of an enclosing graph that it uses is *captured* --
turned into an extra input. A :class:`GraphFunction` wraps the traced graph and
knows how to run it inside a session: it compiles plans over its own graph with the
session's kernel context, exactly like ``Session.run`` does for a top-level graph.

Gradients without recomputation: the first time a gradient is needed,
``tf.gradients`` is applied *inside* the function graph, adding the backward ops
there. The forward ops' tensors that the backward ops read are the function's
*stash*. The forward plan then also returns the stash (only when the call site's
stash output is used), and the backward plan is compiled with the stash and the
output gradients as feeds -- so it never re-runs the forward ops. A while loop keeps
one stash per iteration: memory proportional to the iterations actually run.

Variables created while tracing are lifted into the outermost graph (``init_scope``),
and variable scopes and collections are shared with it, so ``get_variable`` inside a
loop body or a ``dynamic_rnn`` cell behaves as in TF1.
"""
import contextlib
import itertools

from . import errors
from .graph import Graph, get_default_graph

__all__ = ["FuncGraph", "GraphFunction", "init_scope", "trace"]

_fn_counter = itertools.count()


class FuncGraph(Graph):
    """The graph of a function body, nested in ``outer_graph``."""

    def __init__(self, name, outer_graph):
        super().__init__()
        self.name = name
        self._outer = outer_graph
        self.inputs = []
        self.outputs = []
        self.captures = []  # (tensor of the enclosing graph, placeholder in this graph)
        self._capture_map = {}
        self._seed = outer_graph.seed
        root = self.root_graph
        if root._variable_scope_store is None:
            from ..ops.variable_scope import _VariableStore
            root._variable_scope_store = _VariableStore()
        self._variable_scope_store = root._variable_scope_store
        self._gradient_override_map = outer_graph._gradient_override_map

    @property
    def outer_graph(self):
        return self._outer

    @property
    def root_graph(self):
        g = self
        while g.outer_graph is not None:
            g = g.outer_graph
        return g

    def _capture(self, tensor, op_name):
        hit = self._capture_map.get(tensor)
        if hit is not None:
            return hit
        g = self._outer
        while g is not None and tensor.graph is not g:
            g = g.outer_graph
        if g is None:
            raise ValueError("Tensor %s used in function %s belongs to a graph that does not "
                             "enclose it" % (tensor.name, self.name))
        outer_value = tensor if tensor.graph is self._outer else self._outer._capture(tensor, op_name)
        from ..ops.array_ops import placeholder
        with self.as_default(), self.control_dependencies(None), self.name_scope(None):
            ph = placeholder(tensor.dtype, tensor.shape, name="capture")
        if tensor.dtype.name == "resource":  # keep what the handle points at (dtype, shape)
            from ..ops.variables import _handle_spec
            dt, shape = _handle_spec(outer_value)
            if dt is not None:
                ph.op._attrs["_handle_dtype"] = dt
                ph.op._attrs["_handle_shape"] = shape
        self._capture_map[tensor] = ph
        self.captures.append((outer_value, ph))
        return ph

    # Collections live in the outermost graph, as in TF1 where loop bodies share one graph.
    def add_to_collection(self, name, value):
        self.root_graph.add_to_collection(name, value)

    def get_collection(self, name, scope=None):
        return self.root_graph.get_collection(name, scope)

    def get_collection_ref(self, name):
        return self.root_graph.get_collection_ref(name)


@contextlib.contextmanager
def init_scope():
    """Enters the outermost graph with no control dependencies (where variables are made)."""
    g = get_default_graph()
    root = g
    while root.outer_graph is not None:
        root = root.outer_graph
    if root is g:
        yield
        return
    with root.as_default(), root.control_dependencies(None):
        yield


def _flatten(structure):
    if isinstance(structure, (list, tuple)):
        out = []
        for s in structure:
            out.extend(_flatten(s))
        return out
    if isinstance(structure, dict):
        out = []
        for k in sorted(structure):
            out.extend(_flatten(structure[k]))
        return out
    return [structure]


def trace(fn, input_specs, name, outer_graph=None, structured_args=None):
    """Traces ``fn`` into a :class:`FuncGraph`.

    Args:
        fn: called with placeholders shaped by ``input_specs`` [(dtype, shape, name)].
        structured_args: optional callable turning the flat placeholders into fn's args.

    Returns:
        (func_graph, structured result of fn)
    """
    outer = outer_graph or get_default_graph()
    fg = FuncGraph(name, outer)
    from ..ops.array_ops import placeholder
    with fg.as_default():
        phs = [placeholder(dt, shp, name=nm or "arg") for dt, shp, nm in input_specs]
        fg.inputs = list(phs)
        args = structured_args(phs) if structured_args is not None else phs
        result = fn(*args)
    return fg, result


def _carries_gradient(dtype):
    from ..ops.gradients import _carries_gradient as carries
    return carries(dtype)


class _Stash:
    """The forward values a call's backward pass needs (one per call or loop iteration)."""

    __slots__ = ("values", "extra")

    def __init__(self, values, extra=None):
        self.values = values
        self.extra = extra

    @property
    def shape(self):
        return ()

    @property
    def dtype(self):
        return "variant"


class GraphFunction:
    """A traced function: run as part of an op, with forward/backward plans per session."""

    def __init__(self, func_graph, outputs, name=None):
        self.graph = func_graph
        self.name = name or func_graph.name
        self.arg_inputs = list(func_graph.inputs)
        self.inputs = self.arg_inputs + [ph for _, ph in func_graph.captures]
        self.outputs = list(outputs)
        func_graph.outputs = self.outputs
        self._grad = None
        self._id = next(_fn_counter)

    @property
    def captured_inputs(self):
        """The enclosing graph's tensors this function reads (extra inputs of its call op)."""
        return [t for t, _ in self.graph.captures]

    def _effect_ops(self):
        """Side-effecting ops of the body that must run even if no output depends on them."""
        fwd = self._forward_ops()
        return [op for op in fwd if op._op_def.side_effects]

    def _forward_ops(self):
        limit = self._grad["mark"] if self._grad is not None else len(self.graph._ops)
        return self.graph._ops[:limit]

    # --- gradient ------------------------------------------------------------------------
    def build_gradient(self):
        """Adds the backward ops to the function graph (once) and finds the stash."""
        if self._grad is not None:
            return self._grad
        from ..ops import array_ops, core
        from ..ops.gradients import gradients
        g = self.graph
        mark = len(g._ops)
        diff_out = [i for i, t in enumerate(self.outputs) if _carries_gradient(t.dtype)]
        diff_in = [i for i, t in enumerate(self.inputs)
                   if _carries_gradient(t.dtype) or t.dtype.name == "resource"]
        with g.as_default(), g.name_scope("gradients/"):
            dys = [array_ops.placeholder(self.outputs[i].dtype, self.outputs[i].shape,
                                         name="grad_y") for i in diff_out]
            if diff_out and diff_in:
                grads = gradients([self.outputs[i] for i in diff_out],
                                  [self.inputs[i] for i in diff_in], grad_ys=dys,
                                  name="function_grad")
            else:
                grads = [None] * len(diff_in)
            # Sparse (IndexedSlices) gradients become dense at the function boundary.
            dense = [None if gr is None else core.convert_to_tensor(gr) for gr in grads]
        backward = set(g._ops[mark:])
        stash = []
        seen = set()
        for op in g._ops[mark:]:
            for t in op._inputs:
                if t._op not in backward and t not in seen and t not in dys:
                    seen.add(t)
                    stash.append(t)
        self._grad = {"mark": mark, "dys": dys, "diff_out": diff_out, "diff_in": diff_in,
                      "input_grads": dense, "stash": stash}
        return self._grad

    # --- plans ---------------------------------------------------------------------------
    def forward_plan(self, ctx, with_stash):
        """Plan: inputs -> outputs (+ the stash values when ``with_stash``).

        Plans bound for eager evaluation (``ctx.eager``: kernels that must not advance the
        session's random streams or count TensorArray reads) are kept apart from the
        session's own.
        """
        key = ("fn_forward", self._id, bool(with_stash), ctx.eager)
        return ctx.state.resource(key, lambda: self._compile_forward(ctx, with_stash))

    def _compile_forward(self, ctx, with_stash):
        from ..runtime.plan import compile_plan
        fetch = list(self.outputs)
        if with_stash:
            fetch += self.build_gradient()["stash"]  # all of it, even a tensor that is an output
        unique = list(dict.fromkeys(fetch))
        feeds = list(self.inputs)
        return _FunctionPlan(compile_plan(ctx, unique, self._effect_ops(), feeds), fetch, unique,
                             len(self.outputs))

    def backward_plan(self, ctx):
        """Plan: (stash values, output gradients) -> input gradients."""
        key = ("fn_backward", self._id, ctx.eager)
        return ctx.state.resource(key, lambda: self._compile_backward(ctx))

    def _compile_backward(self, ctx):
        from ..runtime.plan import compile_plan
        gi = self.build_gradient()
        fetch = [t for t in gi["input_grads"] if t is not None]
        unique = list(dict.fromkeys(fetch))
        feeds = list(gi["stash"]) + list(gi["dys"])
        return _FunctionPlan(compile_plan(ctx, unique, [], feeds), fetch, unique, len(fetch))


class _FunctionPlan:
    """A compiled plan over a function graph, returning values in the function's order."""

    __slots__ = ("plan", "order", "n_outputs")

    def __init__(self, plan, fetch, unique, n_outputs):
        self.plan = plan
        pos = {t: i for i, t in enumerate(unique)}
        self.order = None if fetch == unique else [pos[t] for t in fetch]
        self.n_outputs = n_outputs

    def __call__(self, feeds):
        try:
            vals = self.plan.fn(feeds)
        except Exception as exc:  # noqa: BLE001 - typed with the inner op's name
            from ..runtime.plan import map_runtime_error
            raise map_runtime_error(self.plan, exc) from None
        if self.order is not None:
            vals = [vals[i] for i in self.order]
        return vals

