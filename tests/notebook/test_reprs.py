"""Rich display: MIME bundles of Tensor, Operation, Graph, Session and Variable."""
import sys

import numpy as np
import pytest

import tfnb as tf


@pytest.fixture
def interactive():
    g = tf.Graph()
    with g.as_default():
        sess = tf.InteractiveSession(graph=g, eager=True)
        yield sess
        sess.close()


@pytest.fixture
def no_dot(monkeypatch):
    """A machine without the Graphviz `dot` program."""
    from tfnb.notebook import graph_draw
    monkeypatch.setattr(graph_draw.shutil, "which", lambda name: None)


def test_import_tfnb_loads_no_notebook_packages():
    import subprocess
    code = ("import sys, tfnb as tf; tf.constant(1.0); "
            "bad = [m for m in ('IPython', 'graphviz', 'anywidget', 'ipywidgets', 'traitlets', "
            "'tfnb.notebook') if m in sys.modules]; print(bad); assert not bad")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=__file__.rsplit("/tests/", 1)[0])
    assert out.returncode == 0, out.stdout + out.stderr


def test_tensor_bundle_symbolic():
    x = tf.placeholder(tf.float32, [None, 784], name="x")
    with tf.device("/cpu:0"):
        y = tf.identity(x, name="y")
    bundle = y._repr_mimebundle_()
    assert bundle["text/plain"] == repr(y)
    html = bundle["text/html"]
    for part in ("y:0", "float32", "[?,784]", "/device:CPU:0", "Identity", "not computed",
                 "test_reprs.py"):
        assert part in html, part
    assert y._repr_html_() == html


def test_tensor_bundle_eager_value_abbreviated(interactive):
    small = tf.constant([1.5, 2.5], name="small")
    html = small._repr_mimebundle_()["text/html"]
    assert "[1.5 2.5]" in html and "not computed" not in html
    big = tf.constant(np.arange(1_000_000, dtype=np.int32).reshape(1000, 1000), name="big")
    bundle = big._repr_mimebundle_()
    assert bundle["text/plain"] == repr(big)
    html = bundle["text/html"]
    assert "..." in html and "999999]]" in html and "[1000,1000]" in html and "int32" in html
    assert len(html) < 5000  # abbreviated like NumPy, not a million numbers


def test_operation_bundle_lists_type_io_attrs_and_location():
    a = tf.placeholder(tf.float32, [2, 3], name="a")
    b = tf.constant(np.ones((3, 4), np.float32), name="b")
    with tf.control_dependencies([b.op]):
        c = tf.matmul(a, b, transpose_b=False, name="mm")
    op = c.op
    bundle = op._repr_mimebundle_()
    assert bundle["text/plain"] == repr(op)
    html = bundle["text/html"]
    for part in ("mm", "MatMul", "a:0", "b:0", "[2,3]", "[3,4]", "[2,4]", "transpose_a",
                 "Placeholder", "test_reprs.py", "tf.matmul(a, b"):
        assert part in html, part
    ctrl = tf.no_op(name="after")
    ctrl._add_control_input(a.op)
    assert "control inputs" in ctrl._repr_mimebundle_()["text/html"]


def test_variable_bundle(interactive):
    v = tf.Variable(np.full((2, 2), 7.0, np.float32), name="weights")
    bundle = v._repr_mimebundle_()
    assert bundle["text/plain"] == repr(v)
    html = bundle["text/html"]
    for part in ("weights:0", "float32", "(2, 2)", "trainable", "weights/Assign", "[[7. 7.]"):
        assert part in html, part


def test_variable_bundle_graph_mode():
    v = tf.Variable(tf.zeros([3]), name="v")
    html = v._repr_html_()
    assert "v:0" in html and "not shown" in html


def test_session_bundle_devices_and_cached_plans():
    x = tf.placeholder(tf.float32, [None], name="x")
    y = tf.multiply(x, 2.0, name="double")
    with tf.Session() as sess:
        empty = sess._repr_mimebundle_()["text/html"]
        assert "none yet" in empty
        sess.run(y, {x: [1.0]})
        bundle = sess._repr_mimebundle_()
        assert bundle["text/plain"] == repr(sess)
        html = bundle["text/html"]
        assert "CPU:0" in html and "double:0" in html and "x:0" in html
        assert "cached plans (1)" in html and "tf.Session" in html


def test_graph_bundle_draws_itself(no_dot):
    with tf.name_scope("layer"):
        tf.constant(1.0, name="c")
    g = tf.get_default_graph()
    bundle = g._repr_mimebundle_()
    assert bundle["text/plain"] == repr(g)
    html = bundle["text/html"]
    assert 'class="tfnb-graph"' in html and "digraph tfnb" in html and "layer" in html
    assert g._repr_html_().startswith('<div class="tfnb-graph"')


def test_ipython_display_formatter_uses_bundles():
    pytest.importorskip("IPython")
    from IPython.core.formatters import DisplayFormatter
    t = tf.constant([1.0], name="t")
    data, _ = DisplayFormatter().format(t)
    assert data["text/plain"] == repr(t) and "t:0" in data["text/html"]
