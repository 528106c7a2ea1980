"""GraphExplorer widget: the Python half of its state round trips (no browser needed)."""
import numpy as np
import pytest

import tfnb as tf

pytest.importorskip("anywidget")
from tfnb.notebook import GraphExplorer  # noqa: E402


def _graph():
    x = tf.placeholder(tf.float32, [None, 4], name="x")
    prev = x
    for i in range(3):
        with tf.name_scope("dense%d" % i):
            w = tf.constant(np.ones((4, 4), np.float32), name="w")
            prev = tf.nn.relu(tf.matmul(prev, w), name="act")
    for i in range(60):  # enough ops for scopes to start collapsed
        with tf.name_scope("extra"):
            tf.constant(float(i))
    return x, prev


def _names(model, kind):
    return {n["name"] for n in model["nodes"] if n["kind"] == kind}


def test_initial_state_is_collapsed_and_esm_ships_the_engine():
    _graph()
    w = GraphExplorer(tf.get_default_graph())
    assert w.expanded == [] and w.color_by == "type"
    assert {"dense0", "dense1", "dense2", "extra"} <= _names(w.model, "scope")
    assert w.model["dot"].startswith("digraph tfnb")
    assert "Viz.js 3.31.0" in w._esm and "export default" in w._esm
    assert ".tfnb-ge" in w._css


def test_expanded_toggling_recomputes_the_model():
    _graph()
    w = GraphExplorer(tf.get_default_graph())
    w.expanded = ["dense1"]  # what a click on the collapsed scope sends
    assert "dense1/MatMul" in _names(w.model, "op")
    assert [c["name"] for c in w.model["clusters"]] == ["dense1"]
    assert "dense1" not in _names(w.model, "scope")
    w.expanded = []  # a click on the cluster's title
    assert "dense1" in _names(w.model, "scope") and w.model["clusters"] == []
    w.expanded = ["no-such-scope"]
    assert w.expanded == []


def test_selected_gives_details_and_reveals_hidden_ops():
    x, y = _graph()
    w = GraphExplorer(tf.get_default_graph(), placement={
        "dense2/MatMul": {"assigned": "/device:CPU:0", "reason": "only device"}})
    w.selected = "dense2/MatMul"
    assert "dense2" in w.expanded and "dense2/MatMul" in _names(w.model, "op")
    d = w.details
    assert d["title"] == "dense2/MatMul" and d["node"]["type"] == "MatMul"
    assert d["node"]["assigned_device"] == "/job:localhost/replica:0/task:0/device:CPU:0"
    assert d["node"]["placement_reason"] == "only device"
    assert d["node"]["location"]["filename"].endswith("test_graph_explorer.py")
    w.selected = "dense0"
    assert w.details["node"]["kind"] == "scope" and w.details["node"]["count"] == 3
    w.selected = ""
    assert w.details == {}


def test_search_matches_visible_nodes():
    _graph()
    w = GraphExplorer(tf.get_default_graph())
    w.search = "act"
    assert w.matches["count"] == 3 and w.matches["ops"] == ["dense0/act", "dense1/act",
                                                           "dense2/act"]
    ids = {n["name"]: n["id"] for n in w.model["nodes"]}
    assert set(w.matches["nodes"]) == {ids["dense0"], ids["dense1"], ids["dense2"]}
    w.search = "["  # not a regex: a plain substring search
    assert w.matches["count"] == 0
    w.search = ""
    assert w.matches == {}
    # Enter in the search box: the front end sends a message, Python selects and reveals.
    w._on_front_end_message(w, {"event": "show_first_match", "query": "dense2/a"}, [])
    assert w.search == "dense2/a" and w.selected == "dense2/act"
    assert "dense2" in w.expanded and "dense2/act" in _names(w.model, "op")


def test_color_mode_switch_and_time_from_run_metadata():
    x, y = _graph()
    with tf.Session() as sess:
        md = tf.RunMetadata()
        sess.run(y, {x: np.ones((2, 4))},
                 options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE), run_metadata=md)
    w = GraphExplorer(tf.get_default_graph(), run_metadata=md, color_by="time")
    timed = {n["name"] for n in w.model["nodes"] if n["time_us"] is not None}
    assert timed == {"dense0", "dense1", "dense2"}  # x is fed, extra never runs
    w.color_by = "device"
    assert w.model["color_by"] == "device"
    import traitlets
    with pytest.raises(traitlets.TraitError):
        w.color_by = "rainbow"
    with pytest.raises(ValueError):
        GraphExplorer(tf.get_default_graph(), color_by="rainbow")


def test_refresh_after_the_graph_grew_and_static_fallback_bundle(monkeypatch):
    from tfnb.notebook import graph_draw
    monkeypatch.setattr(graph_draw.shutil, "which", lambda name: None)
    _graph()
    w = GraphExplorer(tf.get_default_graph())
    n = w.model["n_ops"]
    tf.constant(1.0, name="late")
    w.refresh()
    assert w.model["n_ops"] == n + 1 and "late" in _names(w.model, "op")
    data, _ = w._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    assert "tfnbRenderStatic" in data["text/html"]
