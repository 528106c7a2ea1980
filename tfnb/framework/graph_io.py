"""Graph export and import: ``Graph`` <-> ``GraphDef``, ``tf.import_graph_def``, meta graphs,
``tf.train.write_graph``.

The file format and the ``GraphDef``/``NodeDef``/``FunctionDef`` classes live in
:mod:`tfnb.framework.graph_format` (their names are importable from here too). Exporting
writes every op of a graph with its attrs, device, colocation, recorded output dtypes and
shapes, and the graph's collections; the functions the nodes use (the bodies of While, If,
Call) go into the GraphDef's ``library`` once each, forward ops only: the backward ops that
``tf.gradients`` added to them are rebuilt after import, when ``tf.gradients`` or an
imported gradient op (``WhileGrad``, ``IfGrad``, ``CallGrad``) needs them. Exporting an op
holding a Python callable raises TypeError naming the node and attr.

Importing re-creates every op through the registry, so shapes and dtypes are inferred
anew and checked against the recorded ``outputs``; everything that can be checked
without creating ops (op types, names, inputs, cycles, the library) is checked first.

Example:
    >>> path = tf.train.write_graph(tf.get_default_graph(), "/tmp/logs", "graph.json")
    >>> with open(path, "rb") as f:
    ...     gd = tf.GraphDef.FromString(f.read())
    >>> with tf.Graph().as_default():
    ...     tf.import_graph_def(gd, name="")
"""
import contextlib
import functools
import itertools
import json
import os
import tempfile

import numpy as np

from .function import FuncGraph, GraphFunction
from .graph import _VALID_OP_NAME, Graph, GraphKeys, Operation, Tensor, get_default_graph
from .graph_format import (  # noqa: F401 - the format's names stay importable from here
    FORMAT, INFLATE_FREE_BYTES, LIMIT_ENV, MAGIC, MAX_GRAPHDEF_BYTES, MAX_INFLATION_RATIO,
    MAX_NESTING, MAX_RANK, VERSION, _SHAPES_ATTR, DecodeError, FunctionDef, FunctionRef, GraphDef,
    NodeDef, _check_version, _decode, _encode, _encode_attrs, _encode_outputs, inflation_limit,
    read_graph_def)
from .registry import get_op_def

__all__ = ["GraphDef", "NodeDef", "FunctionDef", "FunctionRef", "DecodeError", "import_graph_def",
           "write_graph", "read_graph_def", "export_meta_graph_dict", "import_meta_graph_dict"]

META_FORMAT = "tfnb.MetaGraphDef"
META_VERSION = 1


# ----------------------------------------------------------------------------------------------
# Export
# ----------------------------------------------------------------------------------------------
def _tensor_ref(t):
    """How a NodeDef names an input: ``op`` for output 0, ``op:i`` otherwise (as TF)."""
    return t._op._name if t._value_index == 0 else "%s:%d" % (t._op._name, t._value_index)


def _function_path(graph):
    """' in function 'while/body' in function 'cond/true_fn'' for an op of a function graph."""
    out = ""
    while isinstance(graph, FuncGraph):
        out += " in function %r" % graph.name
        graph = graph.outer_graph
    return out


def node_to_dict(op, add_shapes=False, funcs=None):
    """The JSON form of one Operation (the ``NODE`` object of the format).

    Args:
        op: the Operation.
        add_shapes: also mirror the output shapes into ``attr["_output_shapes"]``.
        funcs: the library being written (a function attr becomes its id there); without
            it a function attr is written by its name.

    Raises:
        TypeError: an attr of ``op`` has no JSON representation (e.g. a Python callable);
            the message names the node, its op type, the attr and the function it is in.
    """
    attr = _encode_attrs(op._attrs, op._name, op.type, funcs, _function_path(op._graph))
    outputs = [(t._dtype, t._shape) for t in op._outputs]
    if add_shapes:
        attr[_SHAPES_ATTR] = [_encode(s) for _, s in outputs]
    inputs = [_tensor_ref(t) for t in op._inputs] + ["^" + c._name for c in op._control_inputs]
    d = {"name": op._name, "op": op.type, "input": inputs,
         "device": op._device, "attr": attr, "outputs": _encode_outputs(outputs)}
    if op._colocation is not None:
        d["colocate_with"] = op._colocation._name
    return d


def _encode_collection_item(item, graph, variable_class):
    if isinstance(item, Tensor):
        return {"tensor": item.name} if item.graph is graph else None
    if isinstance(item, Operation):
        return {"op": item.name} if item._graph is graph else None
    if isinstance(item, variable_class):
        return {"variable": item.to_def()} if item.graph is graph else None
    try:
        return {"value": _encode(item)}
    except TypeError:
        return None


def _export_collections(graph):
    """(collections, skipped keys): collections whose every item can be written down."""
    from ..ops.variables import Variable
    out, skipped = {}, []
    for key in graph.get_all_collection_keys():
        items = [_encode_collection_item(x, graph, Variable) for x in graph.get_collection(key)]
        if any(i is None for i in items):
            skipped.append(key)
        else:
            out[key] = items
    return out, skipped


class _LibraryWriter:
    """Collects the functions that exported nodes use: each once, under an id made from its
    name (``_N`` added where two functions share a name), in order of first use."""

    def __init__(self, add_shapes):
        self.add_shapes = add_shapes
        self.library = {}
        self._ids = {}  # GraphFunction -> id

    def ref(self, f):
        """The library id of GraphFunction ``f``, writing ``f`` (and what it uses) if new."""
        fid = self._ids.get(f)
        if fid is None:
            base = f.name or "function"
            fid, i = base, 1
            while fid in self.library:
                fid = "%s_%d" % (base, i)
                i += 1
            self._ids[f] = fid
            self.library[fid] = None  # reserve the id (first-use order) before nested functions
            self.library[fid] = self._function_def(f)
        return fid

    def _function_def(self, f):
        # Forward ops only: tf.gradients' backward ops are rebuilt by build_gradient on import.
        nodes = [NodeDef.from_dict(node_to_dict(op, self.add_shapes, self))
                 for op in f._forward_ops()]
        n_args = len(f.arg_inputs)
        return FunctionDef(f.name, nodes, [t._op._name for t in f.arg_inputs],
                           [t._op._name for t in f.inputs[n_args:]], [t.name for t in f.outputs])


def graph_to_def(graph, from_version=None, add_shapes=False):
    """The :class:`GraphDef` of ``graph`` (backs ``Graph.as_graph_def``).

    Functions the nodes use (the bodies of ``While``/``If``/``Call``) go into the
    GraphDef's ``library``.

    Args:
        graph: the Graph.
        from_version: if given, only the nodes added since ``graph.version`` was this
            value (an incremental export; collections are then left out).
        add_shapes: also mirror each node's output shapes into ``attr["_output_shapes"]``
            as TF does (the shapes are recorded in ``outputs`` in any case).

    Raises:
        TypeError: a node has an attr that cannot be exported (names node, attr and function).
    """
    ops = graph.get_operations()
    if from_version is not None:
        ops = ops[from_version:]
        colls, skipped = {}, []
    else:
        colls, skipped = _export_collections(graph)
    lib = _LibraryWriter(add_shapes)
    nodes = [NodeDef.from_dict(node_to_dict(op, add_shapes, lib)) for op in ops]
    return GraphDef(nodes, colls, skipped, library=lib.library)


# ----------------------------------------------------------------------------------------------
# Import
# ----------------------------------------------------------------------------------------------
def _parse_ref(ref):
    """``"^a"`` -> ("a", None); ``"a:1"`` -> ("a", 1); ``"a"`` -> ("a", 0)."""
    if ref.startswith("^"):
        return ref[1:], None
    name, sep, idx = ref.rpartition(":")
    if not sep:
        return ref, 0
    if not idx.isdigit():
        raise ValueError("bad tensor reference %r" % ref)
    return name, int(idx)


def _frozen_copy(v, resolve=None):
    """A copy of an attr value that later edits of a GraphDef cannot reach (arrays read-only);
    ``resolve`` turns each FunctionRef into the imported GraphFunction."""
    if isinstance(v, np.ndarray):
        a = np.array(v, copy=True)
        a.flags.writeable = False
        return a
    if isinstance(v, FunctionRef) and resolve is not None:
        return resolve(v)
    if isinstance(v, list):
        return [_frozen_copy(x, resolve) for x in v]
    if isinstance(v, tuple):
        return tuple(_frozen_copy(x, resolve) for x in v)
    if isinstance(v, dict):
        return {k: _frozen_copy(x, resolve) for k, x in v.items()}
    return v


def _as_graph_def(graph_def):
    if isinstance(graph_def, GraphDef):
        return graph_def
    if isinstance(graph_def, dict):
        return GraphDef.from_dict(graph_def)
    raise TypeError("graph_def must be a GraphDef proto, got %s." % type(graph_def).__name__)


def _normalize_input_map(input_map, nodes):
    """{(node, index): Tensor} for data inputs and {node: Operation} for "^node" keys."""
    graph = get_default_graph()
    data, ctrl, missing = {}, {}, []
    for key, value in input_map.items():
        if not isinstance(key, str):
            raise TypeError("input_map keys must be tensor names (strings), got %r" % (key,))
        name, idx = _parse_ref(key)
        node = nodes.get(name)
        if node is None or (idx is not None and node.outputs and idx >= len(node.outputs)):
            missing.append(key)
            continue
        if idx is None:
            value = value.op if isinstance(value, Tensor) else value
            if not isinstance(value, Operation) or value.graph is not graph:
                raise TypeError("input_map[%r] must be an Operation of the default graph" % key)
            ctrl[name] = value
            continue
        if not isinstance(value, Tensor):
            from ..ops.core import convert_to_tensor
            value = convert_to_tensor(value)
        if value.graph is not graph:
            raise ValueError("input_map[%r] is %s, which is not in the default graph"
                             % (key, value.name))
        if node.outputs and node.outputs[idx][0] is not value.dtype:
            raise ValueError("input_map[%r] has dtype %s, but %s:%d of the GraphDef is %s"
                             % (key, value.dtype.name, name, idx, node.outputs[idx][0].name))
        data[(name, idx)] = value
    if missing:
        raise ValueError("Attempted to map inputs that were not found in graph_def: [%s]"
                         % ", ".join(missing))
    return data, ctrl


def _import_order(node_list, nodes, data_map, ctrl_map):
    """Nodes ordered so each comes after its (unmapped) inputs; stable for an ordered GraphDef."""
    deps = {}
    for n in node_list:
        d = []
        for ref in n.input:
            name, idx = _parse_ref(ref)
            if (name, idx) in data_map or (idx is None and name in ctrl_map):
                continue
            if name not in nodes:
                raise ValueError("Node %r has input %r, but the GraphDef has no node %r and "
                                 "input_map does not map it." % (n.name, ref, name))
            d.append(name)
        if n.colocate_with:
            if n.colocate_with not in nodes:
                raise ValueError("Node %r is colocated with %r, which is not in the GraphDef."
                                 % (n.name, n.colocate_with))
            d.append(n.colocate_with)
        deps[n.name] = d
    order, state = [], {}  # state: 1 = on the DFS stack, 2 = done
    for root in node_list:
        if state.get(root.name):
            continue
        state[root.name] = 1
        stack = [(root.name, iter(deps[root.name]))]
        while stack:
            name, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                state[name] = 2
                order.append(nodes[name])
            elif state.get(nxt) == 1:
                raise ValueError("The GraphDef has a cycle through node %r; it cannot be imported."
                                 % nxt)
            elif not state.get(nxt):
                state[nxt] = 1
                stack.append((nxt, iter(deps[nxt])))
    return order


def _nodes_by_name(node_list):
    nodes = {}
    for n in node_list:
        if n.name in nodes:
            raise ValueError("The GraphDef has two nodes named %r." % n.name)
        nodes[n.name] = n
    return nodes


def _check_node_types(node_list, prefix):
    """Every node's op type is registered and its name (with ``prefix``) is valid."""
    for n in node_list:
        try:
            get_op_def(n.op)
        except KeyError:
            raise ValueError("Node %r of the GraphDef has op type %r, which is not registered in "
                             "tfnb." % (n.name, n.op)) from None
        if not _VALID_OP_NAME.match(prefix + n.name):
            raise ValueError("Node name %r in the GraphDef is not a valid node name."
                             % (prefix + n.name))


def _choose_names(graph, node_list, prefix):
    """{node: full name}: ``prefix + node``, with a ``_N`` suffix if the graph has it (as TF)."""
    _check_node_types(node_list, prefix)
    taken = {prefix + n.name for n in node_list}

    def free(name):
        return graph._get_operation_by_name_unsafe(name) is None

    names = {}
    for n in node_list:
        full = prefix + n.name
        if not free(full):
            i = 1
            while "%s_%d" % (full, i) in taken or not free("%s_%d" % (full, i)):
                i += 1
            full = "%s_%d" % (full, i)
            taken.add(full)
        names[n.name] = full
    return names


def _function_refs(value):
    """The FunctionRefs inside an attr value."""
    if isinstance(value, FunctionRef):
        yield value
    elif isinstance(value, (list, tuple)):
        for x in value:
            yield from _function_refs(x)
    elif isinstance(value, dict):
        for x in value.values():
            yield from _function_refs(x)


class _FunctionReader:
    """Rebuilds the library's functions, each once, when a node first names it: every node
    naming a function gets the same GraphFunction (a While and its WhileGrad share their
    body, so gradients built after import reuse the backward ops of the imported body).

    Everything that can be checked without creating ops is checked here, up front.
    """

    def __init__(self, library, clear_devices):
        self._library = library
        self._clear_devices = clear_devices
        self._orders = {}
        self._built = {}
        uses = {}
        for fid, fdef in library.items():
            try:
                nodes = _nodes_by_name(fdef.node)
                _check_node_types(fdef.node, "")
                self._orders[fid] = _import_order(fdef.node, nodes, {}, {})
                for name in fdef.arg_inputs + fdef.capture_inputs:
                    if name not in nodes:
                        raise ValueError("its input %r is not one of its nodes" % name)
                for ref in fdef.outputs:
                    if ref.startswith("^") or _parse_ref(ref)[0] not in nodes:
                        raise ValueError("its output %r is not a tensor of its nodes" % ref)
                uses[fid] = self.check_refs(fdef.node)
            except ValueError as e:
                raise ValueError("Function %r of the GraphDef's library: %s" % (fid, e)) from None
        self._check_acyclic(uses)

    def check_refs(self, node_list):
        """The ids of the functions ``node_list`` uses; ValueError for one not in the library."""
        used = []
        for n in node_list:
            for value in n.attr.values():
                for ref in _function_refs(value):
                    if ref.name not in self._library:
                        raise ValueError("Node %r uses function %r, which is not in the GraphDef's "
                                         "library." % (n.name, ref.name))
                    used.append(ref.name)
        return used

    @staticmethod
    def _check_acyclic(uses):
        state = {}  # 1 = being visited, 2 = done

        def visit(fid, path):
            state[fid] = 1
            for nxt in uses[fid]:
                if state.get(nxt) == 1:
                    raise ValueError("Function %r of the GraphDef's library uses itself (%s); it "
                                     "cannot be imported." % (nxt, " -> ".join(path + [nxt])))
                if not state.get(nxt):
                    visit(nxt, path + [nxt])
            state[fid] = 2
        for fid in uses:
            if not state.get(fid):
                visit(fid, [fid])

    def get(self, ref, outer_graph):
        """The GraphFunction ``ref`` names, built nested in ``outer_graph`` on first use."""
        f = self._built.get(ref.name)
        if f is None:
            f = self._built[ref.name] = self._build(ref.name, outer_graph)
        return f

    def _build(self, fid, outer_graph):
        fdef = self._library[fid]
        fg = FuncGraph(fdef.name, outer_graph)
        created = {}
        try:
            with fg.as_default():
                for n in self._orders[fid]:
                    created[n.name] = _create_node(fg, n, n.name, created, {}, {},
                                                   self._clear_devices, self)
            fg.inputs = [_placeholder_of(created, name) for name in fdef.arg_inputs]
            captures = [_placeholder_of(created, name) for name in fdef.capture_inputs]
            outputs = [_output_of(created, ref) for ref in fdef.outputs]
        except (TypeError, ValueError) as e:
            raise type(e)("%s (importing function %r)" % (e, fid)) from None
        # The captured tensors themselves are the calling node's last inputs (already
        # imported); the function only needs to know how many there are.
        fg.captures = [(None, ph) for ph in captures]
        return GraphFunction(fg, outputs, fdef.name)


def _placeholder_of(created, name):
    op = created[name]
    if op.type != "Placeholder":
        raise ValueError("function input %r is a %s node, not a Placeholder" % (name, op.type))
    return op._outputs[0]


def _output_of(created, ref):
    name, idx = _parse_ref(ref)
    outs = created[name]._outputs
    if idx >= len(outs):
        raise ValueError("function output %r: node %r has %d outputs" % (ref, name, len(outs)))
    return outs[idx]


def _element(ref, created):
    """The imported Tensor (``"node:i"``) or Operation (``"node"``) that ``ref`` names."""
    name, sep, _ = ref.rpartition(":")
    if not sep:
        if ref not in created:
            raise KeyError("no node %r in the GraphDef" % ref)
        return created[ref]
    node, idx = _parse_ref(ref)
    if node not in created or idx >= len(created[node]._outputs):
        raise KeyError("no tensor %r in the GraphDef" % ref)
    return created[node]._outputs[idx]


def _create_node(graph, n, full_name, created, data_map, ctrl_map, clear_devices, funcs):
    inputs, ctrl = [], []
    for ref in n.input:
        name, idx = _parse_ref(ref)
        if idx is None:
            ctrl.append(ctrl_map[name] if name in ctrl_map else created[name])
        elif (name, idx) in data_map:
            inputs.append(data_map[(name, idx)])
        else:
            src = created[name]
            if idx >= len(src._outputs):
                raise ValueError("Node %r has input %r, but node %r has only %d outputs."
                                 % (n.name, ref, name, len(src._outputs)))
            inputs.append(src._outputs[idx])
    resolve = functools.partial(funcs.get, outer_graph=graph)  # functions nest in ``graph``
    attrs = {k: _frozen_copy(v, resolve) for k, v in n.attr.items() if k != _SHAPES_ATTR}
    device = "" if clear_devices else n.device
    with contextlib.ExitStack() as scopes:
        scopes.enter_context(graph.control_dependencies(ctrl))
        if device:
            scopes.enter_context(graph.device(device))
        if n.colocate_with:
            scopes.enter_context(graph.colocate_with(created[n.colocate_with]))
        op = graph._create_op(n.op, inputs, attrs, name=full_name + "/")
    # Control inputs that are also data inputs are dropped by the scope; restore them.
    op._add_control_inputs([c for c in ctrl if c not in op._control_inputs])
    # Names taken verbatim are not marked as used; mark them so new ops never collide.
    graph._names_in_use.setdefault(op.name.lower(), 1)
    _apply_recorded_outputs(op, n)
    return op


def _apply_recorded_outputs(op, n):
    """Checks the re-inferred dtypes against the recorded ones; restores refined shapes."""
    if not n.outputs:
        return
    got = [t.dtype for t in op._outputs]
    want = [dt for dt, _ in n.outputs]
    if len(got) != len(want) or any(a is not b for a, b in zip(got, want)):
        raise ValueError("Imported node %r (op %s) produces %s, but the GraphDef recorded %s: "
                         "it was written by an incompatible tfnb version, or altered."
                         % (op.name, op.type, [d.name for d in got], [d.name for d in want]))
    for t, (_, shape) in zip(op._outputs, n.outputs):
        if t._shape.is_compatible_with(shape):
            t._shape = t._shape.merge_with(shape)


def _restore_variable(body, created):
    """A Variable over imported nodes: every string in its def naming a node is renamed."""
    from ..ops.variables import Variable
    if not isinstance(body, dict):
        raise ValueError("a variable must be described by an object")
    renamed = {}
    for key, value in body.items():
        if isinstance(value, str):
            try:
                value = _element(value, created).name
            except (KeyError, ValueError):
                pass
        renamed[key] = value
    return Variable(variable_def=renamed)


def _restore_collections(graph, gd, created):
    variables = {}
    for key, items in gd.collections.items():
        for item in items:
            try:
                if not isinstance(item, dict) or len(item) != 1:
                    raise ValueError("malformed item %r" % (item,))
                (kind, body), = item.items()
                if kind in ("tensor", "op") and isinstance(body, str):
                    value = _element(body, created)
                    if isinstance(value, Tensor) != (kind == "tensor"):
                        raise ValueError("%r does not name a%s"
                                         % (body, " tensor" if kind == "tensor" else "n operation"))
                elif kind == "variable":
                    ident = json.dumps(body, sort_keys=True)
                    if ident not in variables:
                        variables[ident] = _restore_variable(body, created)
                    value = variables[ident]
                elif kind == "value":
                    value = _decode(body)
                else:
                    raise ValueError("unknown item kind %r" % kind)
            except (KeyError, TypeError, ValueError) as e:
                raise ValueError("Cannot restore an item of collection %r: %s" % (key, e)) from None
            graph.add_to_collection(key, value)


def _tensorflow_proto(graph_def):
    """The TensorFlow GraphDef proto ``graph_def`` is or stands for, else None."""
    proto = getattr(graph_def, "_tf_proto", None)
    if proto is not None:
        return proto
    if not isinstance(graph_def, (GraphDef, dict)) and hasattr(graph_def, "DESCRIPTOR") and \
            hasattr(graph_def, "SerializeToString"):
        return graph_def
    return None


def _import(graph_def, input_map, return_elements, name, import_collections, clear_devices=False):
    """Imports ``graph_def`` into the default graph; returns (name prefix used, return elements)."""
    proto = _tensorflow_proto(graph_def)
    if proto is not None:
        from ..io.tf_graph_import import import_tf_graph_def
        return import_tf_graph_def(proto, input_map, return_elements, name, clear_devices)
    gd = _as_graph_def(graph_def)
    _check_version(gd.version, "GraphDef")
    graph = get_default_graph()
    if graph.finalized:
        raise RuntimeError("Graph is finalized and cannot be modified.")
    nodes = _nodes_by_name(gd.node)
    funcs = _FunctionReader(gd.library, clear_devices)
    funcs.check_refs(gd.node)
    # Before entering the import scope, so converted values never take an imported name.
    data_map, ctrl_map = _normalize_input_map(dict(input_map or {}), nodes)
    order = _import_order(gd.node, nodes, data_map, ctrl_map)
    for ref in return_elements or ():
        if _parse_ref(ref)[0] not in nodes:
            raise ValueError("Requested return element %r not found in graph_def." % ref)
    with graph.name_scope("import" if name is None else name) as prefix:
        names = _choose_names(graph, gd.node, prefix)
        created = {}
        for n in order:
            created[n.name] = _create_node(graph, n, names[n.name], created, data_map, ctrl_map,
                                           clear_devices, funcs)
        if import_collections:
            _restore_collections(graph, gd, created)
    if return_elements is None:
        return prefix, None
    try:
        return prefix, [_element(ref, created) for ref in return_elements]
    except KeyError as e:
        raise ValueError("Requested return element not found in graph_def: %s" % e) from None


def import_graph_def(graph_def, input_map=None, return_elements=None, name=None, op_dict=None,
                     producer_op_list=None, import_collections=False, clear_devices=False):
    """Imports the ops of ``graph_def`` into the default graph.

    ``graph_def`` may be tfnb's GraphDef (as below) or TensorFlow's ``GraphDef`` proto --
    read from a ``.pb``/``.pbtxt`` with ``tf.GraphDef.FromString`` or ``ParseFromString``, or
    TensorFlow's own class -- whose nodes are converted to tfnb ops by
    :mod:`tfnb.io.tf_graph_import` (an op tfnb lacks raises ``UnimplementedError`` naming it).

    Each node is re-created through the op registry (so shapes and dtypes are
    inferred and checked again) under the name ``name + "/" + node.name``, with its
    attrs, device (nested inside any enclosing ``tf.device``) and control inputs. A
    name the graph already has gets a ``_N`` suffix, as in TF. Graphs only grow, so if
    an op fails to import (e.g. a GraphDef altered by hand), the ops imported before it stay.

    A function of the GraphDef's library is rebuilt once, as a function graph nested in
    the graph of the first node using it, and shared by all the nodes using it; the ops
    inside keep their names (no prefix). Its backward ops are added again by
    ``tf.gradients`` (or when an imported gradient op such as ``WhileGrad`` needs them).

    Args:
        graph_def: a :class:`GraphDef` (or its ``as_dict()`` form).
        input_map: ``{"node:i": Tensor}`` replaces those outputs wherever nodes consume
            them (``"node"`` means ``"node:0"``; ``"^node": Operation`` replaces a control input).
        return_elements: names to return: ``"node:i"`` gives a Tensor, ``"node"`` an Operation.
        name: prefix for the imported names, made unique like a name scope (default
            ``"import"``); ``""`` imports with the original names.
        op_dict: ignored (deprecated in TF1 too).
        producer_op_list: ignored (tfnb GraphDefs record every attr: no defaults to strip).
        import_collections: also add the GraphDef's collections to the graph, rebuilding
            ``tf.Variable`` objects. TF's ``import_graph_def`` never does this; the default
            (False) keeps that behaviour.
        clear_devices: ignore the recorded device constraints (as ``tf.train.import_meta_graph``).

    Returns:
        The list of ``return_elements`` as Tensors/Operations, or None if not requested.

    Raises:
        TypeError: ``graph_def`` is not a GraphDef.
        ValueError: an unknown op type, a missing input, an unknown ``input_map`` key or
            ``return_elements`` name, a dtype mismatch, or a format version newer than supported.

    Example:
        >>> c = tf.constant([[1.0, 2.0]])
        >>> y, = tf.import_graph_def(gd, input_map={"x:0": c}, return_elements=["y:0"])
    """
    return _import(graph_def, input_map, return_elements, name, import_collections,
                   clear_devices)[1]


# ----------------------------------------------------------------------------------------------
# Meta graphs and files
# ----------------------------------------------------------------------------------------------
def export_meta_graph_dict(graph=None, clear_devices=False):
    """A JSON-ready dict describing ``graph`` with its collections, to rebuild a model later.

    The dict is ``{"format": "tfnb.MetaGraphDef", "version": 1, "producer": ...,
    "graph_def": GraphDef.as_dict()}``. Callers (e.g. a Saver) may add their own
    entries, such as ``"saver_def"``; :func:`import_meta_graph_dict` ignores them.

    Args:
        graph: the graph (default: the default graph).
        clear_devices: drop every node's device constraint.
    """
    gd = (graph or get_default_graph()).as_graph_def()
    if clear_devices:
        for n in itertools.chain(gd.node, *(f.node for f in gd.library.values())):
            n.device = ""
    return {"format": META_FORMAT, "version": META_VERSION, "producer": gd.producer,
            "graph_def": gd.as_dict()}


def import_meta_graph_dict(meta_graph, import_scope=None, input_map=None, clear_devices=False):
    """Imports a dict from :func:`export_meta_graph_dict` into the default graph, collections too.

    Args:
        meta_graph: the dict.
        import_scope: name scope to import under (made unique); None imports with the
            original names.
        input_map: as in :func:`import_graph_def`.
        clear_devices: ignore the recorded device constraints.

    Returns:
        ``{name: Variable}`` of the imported global variables, names without the scope (as TF's
        ``import_scoped_meta_graph``).
    """
    if not isinstance(meta_graph, dict) or meta_graph.get("format") != META_FORMAT:
        raise ValueError("Not a tfnb MetaGraphDef dict (expected format %r)" % META_FORMAT)
    _check_version(meta_graph.get("version"), "MetaGraphDef", META_VERSION)
    if "graph_def" not in meta_graph:
        raise ValueError("Malformed MetaGraphDef: no 'graph_def'")
    graph = get_default_graph()
    before = set(graph.get_collection(GraphKeys.GLOBAL_VARIABLES))
    prefix, _ = _import(meta_graph["graph_def"], input_map, None, import_scope or "", True,
                        clear_devices)
    new = [v for v in graph.get_collection(GraphKeys.GLOBAL_VARIABLES) if v not in before]
    return {v.name[len(prefix):] if v.name.startswith(prefix) else v.name: v for v in new}


def write_graph(graph_or_graph_def, logdir, name, as_text=True, format=None):  # noqa: A002
    """Writes a graph to ``logdir/name`` atomically (a reader never sees a partial file).

    Which format (``format=None``): TensorFlow's GraphDef (protobuf text format, or binary)
    whenever TensorFlow's format can hold the graph -- protobuf is installed, every op has a
    TensorFlow counterpart and every attr a TensorFlow form
    (:func:`tfnb.io.tf_graph_export.tf_graph_def_or_none`); otherwise tfnb's own (JSON text,
    or its binary form), which holds every graph exactly: function graphs (``While``/``If``
    bodies, ``Defun``), tfnb's own ops, collections, colocation and recorded shapes.
    TensorFlow's GraphDef proto is always written as such.

    Args:
        graph_or_graph_def: a Graph, a :class:`GraphDef`, or TensorFlow's GraphDef proto.
        logdir: directory to write into (created if missing).
        name: file name.
        as_text: text if True, else binary.
        format: tfnb's keyword: None (as above), ``"tf"`` (TensorFlow's GraphDef; ops
            TensorFlow lacks become tfnb-native nodes that only tfnb imports, see
            :mod:`tfnb.io.tf_graph_export`) or ``"tfnb"`` (tfnb's form).

    Returns:
        The path of the file written.
    """
    if format not in (None, "tfnb", "tf"):
        raise ValueError("format must be 'tfnb' or 'tf', got %r" % (format,))
    proto = _tensorflow_proto(graph_or_graph_def)
    if proto is None and format != "tfnb":
        graph = graph_or_graph_def
        if not isinstance(graph, Graph):
            graph = Graph()
            with graph.as_default():
                import_graph_def(graph_or_graph_def, name="")
        from ..io import tf_graph_export
        proto = tf_graph_export.graph_to_tf_graph_def(graph) if format == "tf" else \
            tf_graph_export.tf_graph_def_or_none(graph)
    if proto is not None:
        from ..io import protos
        data = protos.load().text_format.MessageToString(proto).encode("utf-8") if as_text \
            else proto.SerializeToString()
    elif isinstance(graph_or_graph_def, Graph):
        gd = graph_or_graph_def.as_graph_def()
        data = gd.to_text().encode("utf-8") if as_text else gd.SerializeToString()
    else:
        gd = _as_graph_def(graph_or_graph_def)
        data = gd.to_text().encode("utf-8") if as_text else gd.SerializeToString()
    path = os.path.join(logdir, name)
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".%s." % os.path.basename(path), suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    return path
