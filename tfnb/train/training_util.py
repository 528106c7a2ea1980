"""The global step: the training step counter that hooks, savers and summaries key on.

``tf.train.get_or_create_global_step()`` returns the graph's global step (an int64 scalar
variable named ``global_step`` in the ``GLOBAL_STEP`` collection), creating it if needed;
``optimizer.minimize(loss, global_step=...)`` increments it once per update.

This is the module of TF1's ``training_util``: the global step functions are those of
:mod:`tfnb.train.learning_rate_decay` (re-exported here), plus the one shared read of the
global step that hooks fetch, ``global_step/add:0`` (``global_step + 0``, kept in the
``global_step_read_op_cache`` collection as in TF 1.15).

Example:
    >>> step = tf.train.get_or_create_global_step()
    >>> train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=step)
    >>> sess.run(train_op); tf.train.global_step(sess, step)
    1
"""
from ..framework import dtypes
from ..framework.graph import GraphKeys, Operation, get_default_graph
from ..framework.graph_io import write_graph  # noqa: F401 - TF1 re-exports it here
from ..ops.variables import Variable
# The global step itself is defined with the learning-rate schedules that use it.
from .learning_rate_decay import (assert_global_step, create_global_step,  # noqa: F401
                                  get_global_step, get_or_create_global_step, global_step)

__all__ = ["global_step", "get_global_step", "create_global_step", "get_or_create_global_step",
           "assert_global_step"]

# The collection holding the one shared read of the global step (TF 1.15's name).
GLOBAL_STEP_READ_KEY = "global_step_read_op_cache"


def _variable_of(graph, tensor):
    """The Variable whose handle is ``tensor`` (tfnb's variables are resource handles), if any."""
    for key in (GraphKeys.GLOBAL_VARIABLES, GraphKeys.LOCAL_VARIABLES):
        for v in graph.get_collection(key):
            if isinstance(v, Variable) and v.op is tensor.op:
                return v
    return None


def _global_step_by_name(graph):
    """The element named ``global_step:0``: a Variable (for its handle), a Tensor, or None."""
    try:
        t = graph.get_tensor_by_name("global_step:0")
    except (KeyError, ValueError):
        return None
    if t.dtype is dtypes.resource:
        return _variable_of(graph, t)
    return t


def _get_global_step_read(graph=None):
    graph = graph or get_default_graph()
    reads = graph.get_collection(GLOBAL_STEP_READ_KEY)
    if len(reads) > 1:
        raise RuntimeError("There are multiple items in collection %s. There should be only one."
                           % GLOBAL_STEP_READ_KEY)
    return reads[0] if reads else None


def _get_or_create_global_step_read(graph=None):
    """The shared tensor ``global_step + 0`` that hooks fetch (None without a global step)."""
    graph = graph or get_default_graph()
    read = _get_global_step_read(graph)
    if read is not None:
        return read
    step = get_global_step(graph)
    if step is None:
        return None
    op_name = step.op.name if isinstance(step.op, Operation) else "global_step"
    with graph.as_default(), graph.name_scope(None), graph.control_dependencies(None), \
            graph.name_scope(op_name + "/"):
        read = step + 0
    graph.add_to_collection(GLOBAL_STEP_READ_KEY, read)
    return _get_global_step_read(graph)
