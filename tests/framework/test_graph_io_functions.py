"""GraphDef export/import of graphs whose ops have function bodies (cond, while_loop, Defun,
tf.function): the imported graph computes the same values, tf.gradients through imported
ops gives the same numbers, graphs exported after their gradients were built round-trip,
and a Saver meta graph of a while-loop model trains after import_meta_graph."""
import json

import numpy as np
import pytest

import tfnb as tf
from tfnb import function
from tfnb.framework import graph_io
from tfnb.framework.graph_io import FunctionRef, GraphDef, import_graph_def

X = np.array([0.5, -1.0, 2.0], np.float32)
W0 = np.array([1.5, -0.5, 0.25], np.float32)


# ----------------------------------------------------------------------------------------------
# Models: each builds its forward graph in the default graph and returns (output, [wrt]).
# Every model has a float32 placeholder "x" of shape [3] and a variable "w" of W0.
# ----------------------------------------------------------------------------------------------
def _inputs():
    x = tf.placeholder(tf.float32, [3], name="x")
    w = tf.Variable(W0, name="w")
    return x, w


def _cond_model():
    x, w = _inputs()
    y = tf.cond(tf.reduce_sum(x) > 0.0, lambda: tf.sin(x) * w, lambda: x * x)
    z = tf.cond(tf.reduce_sum(x) > 100.0, lambda: x * 0.0, lambda: y * w, name="second")
    return tf.reduce_sum(z * z, name="out"), [x, w]


def _loop_in_cond_model():
    """A while loop (itself holding a loop) inside a cond branch, reading a variable."""
    x, w = _inputs()

    def inner(v):
        return tf.while_loop(lambda j, a: j < 2, lambda j, a: (j + 1, a * 0.5 + w),
                             [tf.constant(0), v])[1]

    def taken():
        _, acc = tf.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, tf.tanh(inner(a) * x)),
                               [tf.constant(0), x])
        return acc

    y = tf.cond(tf.reduce_sum(w) > 0.0, taken, lambda: x)
    return tf.reduce_sum(y * w, name="out"), [x, w]


def _loop_reading_variable_model():
    x, w = _inputs()
    _, acc = tf.while_loop(lambda i, a: i < 4, lambda i, a: (i + 1, a * w + x),
                           [tf.constant(0), tf.zeros([3])], maximum_iterations=10)
    return tf.reduce_sum(tf.square(acc), name="out"), [x, w]


def _defun_model():
    @function.Defun(tf.float32, tf.float32)
    def Scale(a, b):  # noqa: N802 - TF-style function name
        return tf.sin(a) * b + tf.reduce_mean(a)

    x, w = _inputs()
    y = Scale(x, w)
    y2 = Scale(y, x)  # a second call: the same function, once in the library
    return tf.reduce_sum(y2 * w, name="out"), [x, w]


def _tf_function_model():
    @tf.function
    def f(a, k):
        return tf.cos(a) * k + a

    x, w = _inputs()
    r = w.read_value()
    y = f(x * r, 2.0) + f(x, 3.0)  # two traces named "f": two library entries
    return tf.reduce_sum(y * r, name="out"), [x, w]


MODELS = {"cond": _cond_model, "loop_in_cond": _loop_in_cond_model,
          "loop_reading_variable": _loop_reading_variable_model, "defun": _defun_model,
          "tf_function": _tf_function_model}


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------
def _through_bytes(gd, binary):
    data = gd.SerializeToString() if binary else gd.to_text()
    return GraphDef.FromString(data)


def _run(graph, fetches, feed):
    with graph.as_default(), tf.Session(graph=graph) as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(fetches, feed)


def _import_fresh(gd, prefix=""):
    g = tf.Graph()
    with g.as_default():
        import_graph_def(gd, name=prefix, import_collections=True)
    return g


def _assert_close(got, want):
    assert len(got) == len(want)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------------------------
# Round trips
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
@pytest.mark.parametrize("model", sorted(MODELS))
def test_imported_graph_computes_and_differentiates_the_same(model, binary):
    g = tf.Graph()
    with g.as_default():
        out, wrt = MODELS[model]()
    gd = _through_bytes(g.as_graph_def(), binary)  # exported before any gradient exists
    assert gd.library and gd.version == 2
    with g.as_default():
        grads = tf.gradients(out, wrt)
    want = _run(g, [out] + grads, {"x:0": X})

    prefix = "imported" if binary else ""  # names inside functions never get the prefix
    g2 = _import_fresh(gd, prefix)
    p = prefix + "/" if prefix else ""
    with g2.as_default():
        out2 = g2.get_tensor_by_name(p + out.name)
        wrt2 = [g2.get_tensor_by_name(p + t.name) for t in wrt]
        grads2 = tf.gradients(out2, wrt2)
    assert all(gr is not None for gr in grads2)
    _assert_close(_run(g2, [out2] + grads2, {p + "x:0": X}), want)


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
@pytest.mark.parametrize("model", sorted(MODELS))
def test_graph_exported_after_its_gradients_round_trips(model, binary):
    g = tf.Graph()
    with g.as_default():
        out, wrt = MODELS[model]()
        grads = tf.gradients(out, wrt)
    names = [out.name] + [t.name for t in grads]
    want = _run(g, names, {"x:0": X})
    gd = _through_bytes(g.as_graph_def(), binary)
    grad_ops = {n.op for n in gd.node} & {"CallGrad", "WhileGrad", "IfGrad"}
    assert grad_ops, "the gradient ops are exported at top level"
    g2 = _import_fresh(gd)
    # Exporting the imported graph gives the same GraphDef: nothing was lost or renamed.
    assert g2.as_graph_def() == gd
    _assert_close(_run(g2, names, {"x:0": X}), want)


def test_forward_op_and_gradient_op_share_one_imported_function():
    g = tf.Graph()
    with g.as_default():
        out, wrt = _loop_reading_variable_model()
        dx = tf.gradients(out, wrt)[0]
    gd = g.as_graph_def()
    body = [op for op in g.get_operations() if op.type == "While"][0].get_attr("body")
    assert len(body.graph.get_operations()) > len(gd.library["while/body"].node), \
        "only forward ops are exported"
    g2 = _import_fresh(gd)
    loop = [op for op in g2.get_operations() if op.type == "While"][0]
    body2 = loop.get_attr("body")
    assert [op.get_attr("body") for op in g2.get_operations() if op.type == "WhileGrad"] == [body2]
    assert body2.graph.outer_graph is g2
    n_body_ops = len(body2.graph.get_operations())  # forward + the rebuilt backward ops
    # A second tf.gradients after import reuses the same function and its backward ops.
    with g2.as_default():
        more = tf.gradients(g2.get_tensor_by_name("out:0"), g2.get_tensor_by_name("x:0"))
    assert all(op.get_attr("body") is body2 for op in g2.get_operations()
               if op.type == "WhileGrad")
    assert len(body2.graph.get_operations()) == n_body_ops
    np.testing.assert_allclose(_run(g2, more[0], {"x:0": X}), _run(g, dx, {"x:0": X}), rtol=1e-5)


def test_input_map_reaches_the_tensors_functions_capture():
    g = tf.Graph()
    with g.as_default():
        out, _ = _cond_model()
    gd = g.as_graph_def()
    want = _run(g, out, {"x:0": X})
    with tf.Graph().as_default() as g2:
        c = tf.constant(X)
        got, = import_graph_def(gd, input_map={"x:0": c}, return_elements=[out.name],
                                import_collections=True)
    np.testing.assert_allclose(_run(g2, got, None), want, rtol=1e-6)


def test_dynamic_rnn_round_trip():
    g = tf.Graph()
    with g.as_default():
        tf.set_random_seed(3)
        x = tf.placeholder(tf.float32, [2, 4, 3], name="x")
        outputs, _ = tf.nn.dynamic_rnn(tf.nn.rnn_cell.BasicRNNCell(5), x, dtype=tf.float32)
        loss = tf.reduce_sum(tf.square(outputs), name="loss")
        grad = tf.gradients(loss, x)[0]
    xv = np.random.RandomState(0).randn(2, 4, 3).astype(np.float32)
    want = _run(g, [loss, grad], {x: xv})
    g2 = _import_fresh(_through_bytes(g.as_graph_def(), True))
    _assert_close(_run(g2, [loss.name, grad.name], {"x:0": xv}), want)


def test_library_holds_nested_and_same_named_functions_once_each():
    g = tf.Graph()
    with g.as_default():
        _loop_in_cond_model()
        @tf.function
        def scale(a, k):
            return a * k
        y = tf.placeholder(tf.float32, [2], name="y")
        scale(y, 2.0)
        scale(y, 3.0)
    gd = g.as_graph_def()
    lib = gd.library
    # the outer loop of the cond branch, the loop inside its body, and both cond branches
    assert {"cond/true_fn", "cond/false_fn", "while/body", "while/cond", "while/body_1",
            "while/cond_1"} <= set(lib)
    assert [fid for fid in lib if fid.startswith("scale")] == ["scale", "scale_1"]
    assert lib["while/body_1"].name == "while/body"
    # a nested function is named from the function that uses it
    true_fn_nodes = {n.name: n for n in lib["cond/true_fn"].node}
    assert true_fn_nodes["while/While"].attr["body"] == FunctionRef("while/body")
    body_nodes = {n.name: n for n in lib["while/body"].node}
    assert body_nodes["while/While"].attr["body"] == FunctionRef("while/body_1")
    doc = json.loads(gd.to_text())
    assert doc["version"] == 2
    assert doc["library"]["cond/true_fn"]["outputs"] == lib["cond/true_fn"].outputs
    assert {"func": "cond/true_fn"} in [n["attr"].get("then") for n in doc["nodes"]]


def test_function_free_graphs_stay_version_1():
    g = tf.Graph()
    with g.as_default():
        tf.constant(1.0, name="c")
    doc = json.loads(g.as_graph_def().to_text())
    assert doc["version"] == 1 and "library" not in doc


def test_devices_inside_functions_and_clear_devices():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [3], name="x")

        def branch():
            with tf.device("/cpu:0"):
                return tf.sin(x, name="s")
        tf.cond(tf.reduce_sum(x) > 0.0, branch, lambda: x)
    gd = g.as_graph_def()
    for clear, want in ((False, "/device:CPU:0"), (True, "")):
        with tf.Graph().as_default() as g2:
            import_graph_def(gd, name="", clear_devices=clear)
        f = g2.get_operation_by_name("cond/If").get_attr("then")
        assert f.graph.get_operation_by_name("s").device == want
        assert f.graph.outer_graph is g2
    meta = graph_io.export_meta_graph_dict(g, clear_devices=True)
    assert {n["device"] for n in meta["graph_def"]["library"]["cond/true_fn"]["nodes"]} == {""}


# ----------------------------------------------------------------------------------------------
# Saver meta graph
# ----------------------------------------------------------------------------------------------
def test_saver_meta_graph_round_trip_trains_a_while_loop_model(tmp_path):
    g = tf.Graph()
    with g.as_default():
        out, _ = _loop_reading_variable_model()
        train = tf.train.GradientDescentOptimizer(0.01).minimize(out)
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(train, {"x:0": X})
            path = saver.save(sess, str(tmp_path / "model"), write_meta_graph=True)
            want = []
            for _ in range(2):
                sess.run(train, {"x:0": X})
                want.append(sess.run([out, tf.global_variables()[0]], {"x:0": X}))
    with tf.Graph().as_default() as g2:
        saver2 = tf.train.import_meta_graph(path + ".meta")
        with tf.Session() as sess:
            saver2.restore(sess, path)
            got = []
            for _ in range(2):
                sess.run(train.name, {"x:0": X})
                got.append(sess.run(["out:0", tf.global_variables()[0]], {"x:0": X}))
    assert any(op.type == "While" for op in g2.get_operations())
    for (a_out, a_w), (b_out, b_w) in zip(got, want):
        np.testing.assert_allclose(a_out, b_out, rtol=1e-5)
        np.testing.assert_allclose(a_w, b_w, rtol=1e-5)


# ----------------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------------
def test_python_callable_attrs_raise_a_clear_type_error():
    @function.Defun(tf.float32, python_grad_func=lambda op, dy: [dy])
    def Neg(a):  # noqa: N802 - TF-style function name
        return -a

    with tf.Graph().as_default() as g:
        Neg(tf.constant(1.0))
    with pytest.raises(TypeError, match=r"attr 'python_grad_func' of node 'Neg' \(op Call\): "
                                        r"it holds a Python callable"):
        g.as_graph_def()
    with tf.Graph().as_default() as g:
        x = tf.constant(1.0)
        tf.cond(x > 0.0, lambda: tf.while_loop(lambda a: a < 3.0, lambda a: Neg(a) + 5.0, [x],
                                               shape_invariants=[tf.TensorShape(None)]),
                lambda: x)
    with pytest.raises(TypeError, match=r"attr 'python_grad_func' of node 'Neg' \(op Call\) in "
                                        r"function 'while/body' in function 'cond/true_fn'"):
        g.as_graph_def()


def _cond_graph_def_dict():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [3], name="x")
        tf.cond(tf.reduce_sum(x) > 0.0, lambda: tf.while_loop(lambda a: tf.reduce_sum(a) < 9.0,
                                                              lambda a: a * 2.0, [x]),
                lambda: x)
    return json.loads(g.as_graph_def().to_text())


def _tamper(kind):
    d = _cond_graph_def_dict()
    if kind == "no library":
        del d["library"]
    elif kind == "unknown function":
        d["library"]["cond/true_fn"]["nodes"][-1]["attr"]["body"] = {"func": "nowhere"}
    elif kind == "cycle":
        d["library"]["while/body"]["nodes"].append(
            {"name": "again", "op": "NoOp", "attr": {"f": {"func": "cond/true_fn"}}})
    elif kind == "missing input":
        d["library"]["while/body"]["arg_inputs"] = ["ghost"]
    elif kind == "not a placeholder":
        body = d["library"]["while/body"]
        body["arg_inputs"] = [body["outputs"][0].split(":")[0]]
    elif kind == "unknown op":
        d["library"]["while/cond"]["nodes"][0]["op"] = "LaunchMissiles"
    return GraphDef.from_dict(d)


@pytest.mark.parametrize("kind, message", [
    ("no library", "uses function 'cond/true_fn', which is not in the GraphDef's library"),
    ("unknown function", "Function 'cond/true_fn'.*uses function 'nowhere'"),
    ("cycle", "uses itself"),
    ("missing input", "Function 'while/body'.*input 'ghost' is not one of its nodes"),
    ("unknown op", "Function 'while/cond'.*'LaunchMissiles', which is not registered"),
])
def test_malformed_libraries_are_refused_before_anything_is_imported(kind, message):
    gd = _tamper(kind)
    with tf.Graph().as_default() as g:
        with pytest.raises(ValueError, match=message):
            import_graph_def(gd)
        assert g.get_operations() == []


def test_function_input_that_is_not_a_placeholder_names_the_function():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="not a Placeholder.*importing function 'while/body'"):
            import_graph_def(_tamper("not a placeholder"))


def test_malformed_function_json_is_reported_with_its_id():
    d = _cond_graph_def_dict()
    d["library"]["while/body"]["outputs"] = "add:0"
    with pytest.raises(ValueError, match="Malformed function 'while/body'.*'outputs'"):
        GraphDef.from_dict(d)
    d = _cond_graph_def_dict()
    d["version"] = graph_io.VERSION + 1
    with pytest.raises(ValueError, match="newer"):
        GraphDef.from_dict(d)
