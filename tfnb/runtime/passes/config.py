"""TF1's graph optimization options: ``GraphOptions``, ``OptimizerOptions``, ``RewriterConfig``.

``tf.ConfigProto(graph_options=...)`` takes these, as TF1 programs write them, and
:func:`enabled_passes` maps them to the plan passes of this package:

===================  ========================================================================
pass                 runs unless
===================  ========================================================================
``shape_folding``    ``OptimizerOptions`` folds nothing (``opt_level=L0`` and
                     ``do_constant_folding=False``) or ``rewrite_options.constant_folding=OFF``
``arithmetic``       ``rewrite_options.arithmetic_optimization=OFF``
``sum_of_products``  ``rewrite_options.arithmetic_optimization=OFF`` (an AddN of products
                     as one product of stacked factors: equal to float32 rounding)
``cse``              ``opt_level=L0`` and ``do_common_subexpression_elimination=False``
``identity``         ``rewrite_options.dependency_optimization=OFF``
``dead_code``        ``rewrite_options.disable_model_pruning=True``
``fusion``           ``rewrite_options.remapping=OFF`` (TF's remapper fuses ops too); it
                     needs numba (``tfnb[fast]``), else the ops run unfused
``conv_bias_relu``   ``rewrite_options.remapping=OFF`` (Conv2D, bias add and Relu as one
                     kernel, as TF's ``_FusedConv2D``; needs numba and SciPy)
``first_max``        ``rewrite_options.remapping=OFF`` (a MaxPool's gradient routes by the
                     maxima its forward kernel recorded, and computes the ReluGrad below
                     it; same bits; needs numba)
===================  ========================================================================

As in TF1, ``opt_level=L1`` (the default) turns CSE and constant folding on whatever the
two flags say; ``rewrite_options.disable_meta_optimizer=True`` turns off every rewrite
but CSE (which belongs to the classic graph optimizer); a non-empty
``rewrite_options.optimizers`` list runs only the rewrites it names. Invalid values are
rejected when the options are built (``ValueError``/``TypeError`` naming the field).
"""

__all__ = ["GraphOptions", "OptimizerOptions", "RewriterConfig", "enabled_passes"]


class _Options:
    """A protobuf-like message: keyword fields with defaults, checked on assignment."""

    _FIELDS = {}  # name -> (default, checker(value) -> value)

    def __init__(self, **kwargs):
        for name, (default, _) in self._FIELDS.items():
            object.__setattr__(self, name, default() if callable(default) else default)
        for name, value in kwargs.items():
            setattr(self, name, value)

    def __setattr__(self, name, value):
        spec = self._FIELDS.get(name)
        if spec is None:
            raise ValueError('Protocol message %s has no "%s" field.' % (type(self).__name__, name))
        object.__setattr__(self, name, spec[1](name, value, type(self).__name__))

    def __eq__(self, other):
        return type(other) is type(self) and all(
            getattr(self, n) == getattr(other, n) for n in self._FIELDS)

    __hash__ = None

    def __repr__(self):
        changed = ["%s=%r" % (n, getattr(self, n)) for n, (d, _) in self._FIELDS.items()
                   if getattr(self, n) != (d() if callable(d) else d)]
        return "%s(%s)" % (type(self).__name__, ", ".join(changed))


def _bool(name, value, owner):
    if not isinstance(value, (bool, int)) or value not in (0, 1):
        raise TypeError("%s.%s must be a bool, got %r" % (owner, name, value))
    return bool(value)


def _int(name, value, owner):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s.%s must be an int, got %r" % (owner, name, value))
    return value


def _enum(*allowed):
    def check(name, value, owner):
        if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
            raise ValueError("%s.%s: unknown enum value %r (allowed: %s)"
                             % (owner, name, value, ", ".join(str(a) for a in allowed)))
        return value
    return check


def _message(cls_name):
    def check(name, value, owner):
        if value is None:
            return _CLASSES[cls_name]()
        if not isinstance(value, _CLASSES[cls_name]):
            raise TypeError("%s.%s must be a %s, got %r" % (owner, name, cls_name, value))
        return value
    return check


# grappler's optimizer names that ``RewriterConfig.optimizers`` may list.
GRAPPLER_OPTIMIZERS = {
    "constfold": "shape_folding", "arithmetic": "arithmetic", "dependency": "identity",
    "pruning": "dead_code", "common_subgraph_elimination": "cse", "remap": "fusion",
    # known to TF, no tfnb pass (yet): accepted, nothing runs for them
    "layout": None, "memory": None, "loop": None, "function": None,
    "debug_stripper": None, "shape": None, "autoparallel": None, "scoped_allocator": None,
    "pin_to_host": None, "implementation_selector": None, "auto_mixed_precision": None,
}


def _optimizer_names(name, value, owner):
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise TypeError("%s.%s must be a list of strings, got %r" % (owner, name, value))
    for v in value:
        if v not in GRAPPLER_OPTIMIZERS:
            raise ValueError("%s.%s: unknown optimizer %r (known: %s)"
                             % (owner, name, v, ", ".join(sorted(GRAPPLER_OPTIMIZERS))))
    return list(value)


class OptimizerOptions(_Options):
    """The classic graph optimizer's options (TF1 ``tf.OptimizerOptions``)."""

    L1 = 0   # the default: common subexpression elimination and constant folding
    L0 = -1  # no optimizations (unless a ``do_*`` flag asks for one)
    DEFAULT = 0
    OFF = -1
    ON_1 = 1
    ON_2 = 2
    _FIELDS = {
        "do_common_subexpression_elimination": (False, _bool),
        "do_constant_folding": (False, _bool),
        "max_folded_constant_in_bytes": (0, _int),
        "do_function_inlining": (False, _bool),
        "opt_level": (0, _enum(0, -1)),
        "global_jit_level": (0, _enum(0, -1, 1, 2)),
    }


class RewriterConfig(_Options):
    """Grappler's rewrite switches (TF1 ``rewriter_config_pb2.RewriterConfig``)."""

    # Toggle
    DEFAULT = 0
    ON = 1
    OFF = 2
    AGGRESSIVE = 3
    # NumIterationsType
    DEFAULT_NUM_ITERS = 0
    ONE = 1
    TWO = 2
    # MemOptType
    DEFAULT_MEM_OPT = 0
    NO_MEM_OPT = 1
    MANUAL = 2
    SWAPPING_HEURISTICS = 4
    RECOMPUTATION_HEURISTICS = 5
    SCHEDULING_HEURISTICS = 6
    HEURISTICS = 3
    _toggle = _enum(0, 1, 2, 3)
    _FIELDS = {
        "layout_optimizer": (0, _toggle), "constant_folding": (0, _toggle),
        "shape_optimization": (0, _toggle), "remapping": (0, _toggle),
        "arithmetic_optimization": (0, _toggle), "dependency_optimization": (0, _toggle),
        "loop_optimization": (0, _toggle), "function_optimization": (0, _toggle),
        "debug_stripper": (0, _toggle), "scoped_allocator_optimization": (0, _toggle),
        "pin_to_host_optimization": (0, _toggle), "implementation_selector": (0, _toggle),
        "auto_mixed_precision": (0, _toggle),
        "disable_model_pruning": (False, _bool),
        "meta_optimizer_iterations": (0, _enum(0, 1, 2)),
        "min_graph_nodes": (0, _int),
        "memory_optimization": (0, _enum(0, 1, 2, 3, 4, 5, 6)),
        "memory_optimizer_target_node_name_scope": ("", lambda n, v, o: str(v)),
        "meta_optimizer_timeout_ms": (0, _int),
        "disable_meta_optimizer": (False, _bool),
        "fail_on_optimizer_errors": (False, _bool),
        "optimizers": (list, _optimizer_names),
    }


class GraphOptions(_Options):
    """Options for the graphs a session runs (TF1 ``tf.GraphOptions``)."""

    _FIELDS = {
        "enable_recv_scheduling": (False, _bool),
        "optimizer_options": (OptimizerOptions, _message("OptimizerOptions")),
        "build_cost_model": (0, _int),
        "build_cost_model_after": (0, _int),
        "infer_shapes": (False, _bool),
        "place_pruned_graph": (False, _bool),
        "enable_bfloat16_sendrecv": (False, _bool),
        "timeline_step": (0, _int),
        "rewrite_options": (RewriterConfig, _message("RewriterConfig")),
    }


_CLASSES = {"OptimizerOptions": OptimizerOptions, "RewriterConfig": RewriterConfig}

_ALL_PASSES = ("shape_folding", "arithmetic", "cse", "identity", "dead_code", "sum_of_products",
               "conv_bias_relu", "first_max", "fusion")


def enabled_passes(graph_options):
    """The names of the plan passes ``graph_options`` (a GraphOptions or None) turns on."""
    if graph_options is None:
        return _ALL_PASSES
    if not isinstance(graph_options, GraphOptions):
        raise TypeError("ConfigProto.graph_options must be a tf.GraphOptions, got %r"
                        % (graph_options,))
    opt = graph_options.optimizer_options
    rw = graph_options.rewrite_options
    l1 = opt.opt_level == OptimizerOptions.L1
    on = set()
    if l1 or opt.do_common_subexpression_elimination:
        on.add("cse")
    fold = l1 or opt.do_constant_folding
    if not rw.disable_meta_optimizer:
        if fold and rw.constant_folding != RewriterConfig.OFF:
            on.add("shape_folding")
        if rw.arithmetic_optimization != RewriterConfig.OFF:
            on.update(("arithmetic", "sum_of_products"))
        if rw.dependency_optimization != RewriterConfig.OFF:
            on.add("identity")
        if not rw.disable_model_pruning:
            on.add("dead_code")
        if rw.remapping != RewriterConfig.OFF:
            on.update(("conv_bias_relu", "first_max", "fusion"))
        if rw.optimizers:
            named = {GRAPPLER_OPTIMIZERS[n] for n in rw.optimizers}
            if "arithmetic" in named:
                named.add("sum_of_products")
            if "fusion" in named:
                named.update(("conv_bias_relu", "first_max"))
            on = {p for p in on if p in named or p == "cse"}
    return tuple(p for p in _ALL_PASSES if p in on)
