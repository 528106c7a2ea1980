"""``tf.graph_util``: preparing a graph for deployment (freezing, pruning, cleaning).

These functions work, as TF1's, on TensorFlow's ``GraphDef`` proto (:mod:`tfnb.io.protos`;
they need protobuf) and return a new one, which ``tf.train.write_graph`` writes as a ``.pb``
TensorFlow reads and ``tf.import_graph_def`` imports back. A tfnb ``GraphDef``
(``sess.graph_def``, ``graph.as_graph_def()``) is accepted too: it is converted first
(:func:`tfnb.io.tf_graph_export.graph_to_tf_graph_def`).

Freezing (:func:`convert_variables_to_constants`) keeps what the outputs need
(:func:`extract_sub_graph`) and replaces each variable by a ``Const`` holding its value in the
session, as TF 1.15 does: a reference variable (``VariableV2``) becomes a ``Const`` of the same
name; a resource variable's ``VarHandleOp`` becomes a ``Const`` of its value and each
``ReadVariableOp`` of it an ``Identity`` (a ``ResourceGather`` a ``GatherV2``).

Example:
    >>> frozen = tf.graph_util.convert_variables_to_constants(sess, sess.graph_def, ["probs"])
    >>> tf.train.write_graph(frozen, "/tmp", "frozen.pb", as_text=False)
"""
import copy
import logging

import numpy as np

__all__ = ["convert_variables_to_constants", "extract_sub_graph", "remove_training_nodes",
           "must_run_on_cpu", "tensor_shape_from_node_def_name"]

_LOG = logging.getLogger("tfnb.graph_util")
_REF_VARIABLES = ("Variable", "VariableV2", "VarHandleOp")
_DT_INT32, _DT_STRING = 3, 7  # TensorFlow's DataType numbers


def _as_tf_graph_def(graph_def):
    """TensorFlow's GraphDef proto of ``graph_def`` (a proto, or tfnb's GraphDef)."""
    from .framework import graph_io
    from .io import protos
    proto = graph_io._tensorflow_proto(graph_def)
    if proto is not None:
        return protos.coerce(proto, "GraphDef")
    if not isinstance(graph_def, graph_io.GraphDef):
        raise TypeError("graph_def must be a graph_pb2.GraphDef proto, got %s"
                        % type(graph_def).__name__)
    from .framework.graph import Graph
    from .io.tf_graph_export import graph_to_tf_graph_def
    graph = Graph()
    with graph.as_default():
        graph_io.import_graph_def(graph_def, name="")
    return graph_to_tf_graph_def(graph)


def _node_name(ref):
    """The node an input string names: ``"^a"``, ``"a:1"`` and ``"a"`` all name ``a``."""
    name = ref[1:] if ref.startswith("^") else ref
    return name.split(":")[0]


def extract_sub_graph(graph_def, dest_nodes):
    """The part of ``graph_def`` that ``dest_nodes`` need (their data and control inputs,
    transitively), nodes in their original order; the function library is kept.

    Raises:
        TypeError: ``graph_def`` is no GraphDef, or ``dest_nodes`` a single string.
        AssertionError: a destination node is not in the graph (as TF 1.15).
    """
    if isinstance(dest_nodes, str):
        raise TypeError("dest_nodes must be a list.")
    graph_def = _as_tf_graph_def(graph_def)
    by_name = {n.name: n for n in graph_def.node}
    for d in dest_nodes:
        assert d in by_name, "%s is not in graph" % d
    keep, todo = set(), list(dest_nodes)
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep.add(name)
        node = by_name.get(name)
        if node is None:
            raise ValueError("Node %r is an input of the kept graph but is not in graph_def"
                             % name)
        todo.extend(_node_name(i) for i in node.input)
    out = type(graph_def)()
    out.node.extend(n for n in graph_def.node if n.name in keep)
    out.library.CopyFrom(graph_def.library)
    out.versions.CopyFrom(graph_def.versions)
    return out


def _const_node(out, name, value, dtype_enum, device):
    from .io.tf_graph_export import tensor_proto
    node = out.node.add(name=name, op="Const", device=device)
    node.attr["dtype"].type = dtype_enum
    node.attr["value"].tensor.CopyFrom(tensor_proto(value))
    node.attr["value"].tensor.dtype = dtype_enum
    return node


def _variable_of_read(node, by_name):
    """(variable node name, Identity nodes between): the VarHandleOp a read takes."""
    identities, source = [], _node_name(node.input[0])
    while source in by_name and by_name[source].op == "Identity":
        identities.append(source)
        source = _node_name(by_name[source].input[0])
    if source not in by_name or by_name[source].op != "VarHandleOp":
        raise ValueError("Cannot find the variable that is an input to the %s %r"
                         % (node.op, node.name))
    return source, identities


def convert_variables_to_constants(sess, input_graph_def, output_node_names,
                                   variable_names_whitelist=None,
                                   variable_names_blacklist=None):
    """A frozen copy of ``input_graph_def``: what ``output_node_names`` need, with every
    variable replaced by a ``Const`` of its value in ``sess``.

    Args:
        sess: the session holding the variables' values.
        input_graph_def: TensorFlow's GraphDef proto, or tfnb's (``sess.graph_def``).
        output_node_names: names of the nodes to keep with what they need.
        variable_names_whitelist: if given, only these variables are converted.
        variable_names_blacklist: variables that stay variables.

    Returns:
        TensorFlow's GraphDef proto.

    Raises:
        FailedPreconditionError: a variable to convert is not initialized in ``sess``.
        ValueError: a resource read whose variable is not in the graph.
    """
    graph = extract_sub_graph(input_graph_def, output_node_names)
    by_name = {n.name: n for n in graph.node}
    whitelist = None if variable_names_whitelist is None else set(variable_names_whitelist)
    blacklist = set(variable_names_blacklist or ())
    reads = {}  # VarHandleOp name -> a read of it in the session's graph
    identity_dtypes = {}  # Identity between a read and its handle -> the variable's dtype
    for node in graph.node:
        if node.op in ("ReadVariableOp", "ResourceGather"):
            handle, identities = _variable_of_read(node, by_name)
            reads.setdefault(handle, node.name)
            for name in identities:
                identity_dtypes[name] = node.attr["dtype"]
    variables = _variables_by_handle(sess.graph)
    names, fetches = [], []
    for node in graph.node:
        if node.op not in _REF_VARIABLES:
            continue
        if (whitelist is not None and node.name not in whitelist) or node.name in blacklist:
            continue
        if node.op == "VarHandleOp":
            if node.name not in reads:
                continue  # a handle no kept node reads: nothing to freeze
            fetches.append(_value_tensor(node.name, by_name[reads[node.name]], variables))
        else:
            fetches.append(node.name + ":0")
        names.append(node.name)
    values = dict(zip(names, sess.run(fetches))) if fetches else {}
    out = type(graph)()
    for node in graph.node:
        if node.name in values:
            dtype = node.attr["dtype"].type
            _const_node(out, node.name, np.asarray(values[node.name]), dtype, node.device)
        elif node.op == "ReadVariableOp" and _node_name(node.input[0]) in values:
            new = out.node.add(name=node.name, op="Identity", device=node.device)
            new.input.extend(node.input)
            new.attr["T"].CopyFrom(node.attr["dtype"])
        elif node.op == "ResourceGather" and _node_name(node.input[0]) in values:
            _gather_node(out, node)
        elif node.name in identity_dtypes:
            new = out.node.add()
            new.CopyFrom(node)
            new.attr["T"].CopyFrom(identity_dtypes[node.name])
        else:
            out.node.add().CopyFrom(node)
    out.library.CopyFrom(graph.library)
    out.versions.CopyFrom(graph.versions)
    _LOG.info("Converted %d variables to const ops.", len(values))
    return out


def _variables_by_handle(graph):
    """{VarHandleOp name: Variable} of the variables ``graph`` knows."""
    from .framework.graph import GraphKeys
    out = {}
    for key in (GraphKeys.GLOBAL_VARIABLES, GraphKeys.LOCAL_VARIABLES):
        for v in graph.get_collection(key):
            handle = getattr(v, "_handle", None)
            if handle is not None:
                out.setdefault(handle.op.name, v)
    return out


def _value_tensor(handle_name, read_node, variables):
    """What to fetch for a resource variable's whole value: its snapshot, else a read of it
    in the graph (a ``ResourceGather`` reads rows only)."""
    v = variables.get(handle_name)
    if v is not None:
        return v._snapshot
    if read_node.op != "ReadVariableOp":
        raise ValueError("Cannot read variable %r whole: the session's graph has no Variable "
                         "for it and %r reads only rows of it" % (handle_name, read_node.name))
    return read_node.name + ":0"


def _gather_node(out, node):
    """A ResourceGather of a frozen variable as ``GatherV2(const, indices, axis=0)``."""
    axis = out.node.add(name=node.name + "/axis", op="Const", device=node.device)
    axis.attr["dtype"].type = _DT_INT32
    axis.attr["value"].tensor.dtype = _DT_INT32
    axis.attr["value"].tensor.int_val.append(0)
    gather = out.node.add(name=node.name, op="GatherV2", device=node.device)
    gather.input.extend([node.input[0], node.input[1], axis.name] + [
        i for i in node.input[2:] if i.startswith("^")])
    gather.attr["Tparams"].CopyFrom(node.attr["dtype"])
    gather.attr["Tindices"].CopyFrom(node.attr["Tindices"])
    gather.attr["Taxis"].type = _DT_INT32
    if "batch_dims" in node.attr:
        gather.attr["batch_dims"].CopyFrom(node.attr["batch_dims"])


def remove_training_nodes(input_graph, protected_nodes=None):
    """``input_graph`` without what only training needs, as TF 1.15: ``CheckNumerics`` nodes
    are dropped and ``Identity`` nodes spliced out (consumers take the Identity's input),
    except protected nodes, Identities with control inputs and those used as control inputs.

    A control input on a dropped ``CheckNumerics`` is dropped; a data input on one takes the
    checked tensor instead (TF 1.15 drops that edge too, which leaves an invalid graph).

    Returns:
        TensorFlow's GraphDef proto.
    """
    graph = _as_tf_graph_def(input_graph)
    protected = set(protected_nodes or ())
    removed = {n.name: n.input[0] for n in graph.node
               if n.op == "CheckNumerics" and n.name not in protected}
    kept = []
    for node in graph.node:
        if node.name in removed:
            continue
        new = copy.deepcopy(node)
        del new.input[:]
        for ref in node.input:
            while _node_name(ref) in removed and not ref.startswith("^"):
                ref = removed[_node_name(ref)]
            if _node_name(ref) not in removed:
                new.input.append(ref)
        kept.append(new)
    control_inputs, with_control = set(), set()
    for node in kept:
        for ref in node.input:
            if ref.startswith("^"):
                control_inputs.add(ref[1:])
                with_control.add(node.name)
    splice = {n.name: n.input[0] for n in kept
              if n.op == "Identity" and n.name not in protected and n.name not in with_control
              and n.name not in control_inputs and n.input}
    out = type(graph)()
    for node in kept:
        if node.name in splice:
            continue
        new = out.node.add()
        new.CopyFrom(node)
        del new.input[:]
        for ref in node.input:  # (a control input never names a spliced node)
            while _node_name(ref) in splice:
                ref = splice[_node_name(ref)]
            new.input.append(ref)
    out.library.CopyFrom(graph.library)
    out.versions.CopyFrom(graph.versions)
    return out


def must_run_on_cpu(node, pin_variables_on_cpu=False):
    """Whether TF1's placer keeps ``node`` (a NodeDef or an Operation) on the CPU: int32 and
    string constants, int32 ``DynamicStitch`` and casts from int32; variables too if
    ``pin_variables_on_cpu``."""
    from .framework import dtypes
    from .framework.graph import Operation

    def attr_type(key):
        if isinstance(node, Operation):
            value = node._attrs.get(key)
            return dtypes.as_dtype(value).as_datatype_enum if value is not None else None
        return node.attr[key].type if key in node.attr else None
    op_type = node.type if isinstance(node, Operation) else node.op
    if pin_variables_on_cpu and op_type in _REF_VARIABLES + ("VarHandleOp", "AutoReloadVariable"):
        return True
    if op_type == "Const":
        return attr_type("dtype") in (_DT_INT32, _DT_STRING)
    if op_type in ("DynamicStitch", "ParallelDynamicStitch"):
        return attr_type("T") == _DT_INT32
    if op_type == "Cast":
        return attr_type("SrcT") == _DT_INT32
    return False


def tensor_shape_from_node_def_name(graph, input_name):
    """The static shape of tensor ``input_name`` (``"node"`` means ``"node:0"``) of ``graph``."""
    name = input_name if ":" in input_name else input_name + ":0"
    return graph.get_tensor_by_name(name).get_shape()
