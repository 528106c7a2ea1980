"""The IPython extension: %load_ext tfnb, %tf_graph, %%tf_trace, %tf_reset, %unload_ext."""
import os
import subprocess
import sys

import pytest

import tfnb as tf
from tfnb.runtime import eager, session

pytest.importorskip("IPython")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(shell, code):
    result = shell.run_cell(code)
    assert result.success, result.error_in_exec or result.error_before_exec
    return result.result


def test_import_tfnb_and_tfnb_notebook_pull_in_no_notebook_packages():
    code = ("import sys, tfnb, tfnb.notebook; "
            "print(sorted(m for m in ('IPython', 'ipywidgets', 'anywidget', 'tqdm', 'traitlets') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_load_ext_installs_eager_session_and_magics(ip):
    assert tf.executing_eagerly()
    assert isinstance(tf.get_default_session(), tf.InteractiveSession)
    for kind, name in (("line", "tf_graph"), ("cell", "tf_trace"), ("line", "tf_reset")):
        assert name in ip.magics_manager.magics[kind]
    value = _run(ip, "import tfnb as tf\na = tf.constant([1.0, 2.0], name='a')\n(a * 3).numpy()")
    assert value.tolist() == [3.0, 6.0]


def test_tf_graph_draws_the_default_graph_with_options(ip):
    _run(ip, "import tfnb as tf\nwith tf.name_scope('layer'):\n"
             "    w = tf.constant([[1.0]], name='w')\n    y = tf.matmul(w, w, name='y')")
    drawing = ip.run_line_magic("tf_graph", "")  # outside Jupyter: the static drawing
    assert type(drawing).__name__ == "GraphDrawing"
    assert {n["name"] for n in drawing.model["nodes"]} >= {"layer/w", "layer/y"}
    by_device = ip.run_line_magic("tf_graph", "--color device --expand layer/")
    assert by_device.model["color_by"] == "device" and by_device.model["expanded"] == ["layer"]
    collapsed = ip.run_line_magic("tf_graph", "--expand ''")
    assert [n["kind"] for n in collapsed.model["nodes"]] == ["scope"]
    of_tensor = ip.run_line_magic("tf_graph", "-c type y")  # the graph of an expression
    assert of_tensor.model["n_ops"] == 2
    from IPython.core.error import UsageError
    with pytest.raises(UsageError, match="tf_trace"):
        ip.run_line_magic("tf_graph", "--color time")
    with pytest.raises(TypeError, match="needs a Graph"):
        ip.run_line_magic("tf_graph", "3")


def test_tf_graph_in_a_kernel_is_the_graph_explorer(ip, monkeypatch):
    pytest.importorskip("anywidget")
    from tfnb.notebook import magics
    monkeypatch.setattr(magics, "_widgets_live", lambda: True)
    _run(ip, "import tfnb as tf\nwith tf.name_scope('s'):\n    a = tf.constant(1.0, name='a')")
    explorer = ip.run_line_magic("tf_graph", "--color device")
    assert type(explorer).__name__ == "GraphExplorer" and explorer.color_by == "device"
    assert ip.run_line_magic("tf_graph", "--static").__class__.__name__ == "GraphDrawing"
    explorer.close()


def test_tf_trace_shows_the_timeline_of_the_last_run_and_restores_run(ip, capsys):
    original = session.BaseSession.run
    _run(ip, "import numpy as np\nimport tfnb as tf\n"
             "x = tf.placeholder(tf.float32, [None], name='x')\ny = tf.square(x, name='y')")
    out = _run(ip, "%%tf_trace -o tl\nsess = tf.get_default_session()\n"
                   "sess.run(y, {x: [1.0, 2.0]})\nv = sess.run(y * 2.0, {x: [3.0]})\nv + 1")
    assert out.tolist() == [19.0]  # the value of the last line, as without the magic
    assert session.BaseSession.run is original
    tl = ip.user_ns["tl"]
    assert ip.user_ns["v"].tolist() == [18.0]
    types = {op["type"] for op in tl.ops}
    # The square and the multiply ran as such, or as one fused kernel that says so.
    assert types >= {"Square", "Mul"} or any(
        "y (Square)" in op["detail"] and "(Mul)" in op["detail"]
        for op in tl.ops), tl.ops
    assert "the last of 2 traced Session.run calls" in tl.model["title"]
    assert "<StepTimeline:" in capsys.readouterr().out  # displayed (text/plain in a terminal)
    timed = ip.run_line_magic("tf_graph", "--color time")  # coloured by the traced run
    assert timed.model["color_by"] == "time" and not timed.model["notes"]


def test_tf_trace_traces_sessions_created_in_the_cell_and_restores_run_on_error(ip, capsys):
    original = session.BaseSession.run
    _run(ip, "%%tf_trace --quiet -o tl\nimport tfnb as tf\ng = tf.Graph()\n"
             "with g.as_default():\n    p = tf.placeholder(tf.float32, [])\n"
             "    c = tf.add(p, 2.0, name='c')\n"
             "    with tf.Session() as s:\n        r = s.run(c, {p: 1.0})")
    assert ip.user_ns["r"] == 3.0 and [op["name"] for op in ip.user_ns["tl"].ops][-1] == "c"
    assert "<StepTimeline" not in capsys.readouterr().out
    result = ip.run_cell("%%tf_trace\nraise RuntimeError('boom')")
    assert session.BaseSession.run is original
    assert isinstance(result.error_in_exec, RuntimeError)  # the cell fails as without the magic
    _run(ip, "%%tf_trace\nz = 1 + 1")
    assert "no Session.run in this cell" in capsys.readouterr().out


def test_tf_reset_gives_a_fresh_eager_graph(ip):
    _run(ip, "import tfnb as tf\nold = tf.get_default_graph()\n"
             "old_sess = tf.get_default_session()\ntf.constant(1.0)")
    ip.run_line_magic("tf_reset", "")
    g = tf.get_default_graph()
    assert g is not ip.user_ns["old"] and g.get_operations() == []
    assert tf.executing_eagerly() and tf.get_default_session().graph is g
    assert ip.user_ns["old_sess"]._closed
    from IPython.core.error import UsageError
    with pytest.raises(UsageError, match="%tf_reset takes no arguments"):
        ip.run_line_magic("tf_reset", "now")


def test_unload_removes_magics_and_restores_eager_mode(ip):
    from tfnb.notebook import magics
    before = magics._saved_eager_mode
    ip.run_line_magic("unload_ext", "tfnb")
    assert "tf_graph" not in ip.magics_manager.magics["line"]
    assert "tf_trace" not in ip.magics_manager.magics["cell"]
    assert eager._eager_mode is before
    ip.run_line_magic("load_ext", "tfnb")  # and it loads again
    assert "tf_graph" in ip.magics_manager.magics["line"]
