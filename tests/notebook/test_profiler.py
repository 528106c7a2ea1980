"""tfnb.profiler: op profiles of traced steps (numbers, text table, HTML, %%tf_trace --profile)."""
import sys

import numpy as np
import pytest

import tfnb as tf
from tfnb import profiler
from tfnb.runtime import session
from tfnb.runtime.step_stats import (DeviceStepStats, NodeExecStats, NodeOutput, StepStats,
                                     TensorDescription)

CPU0 = "/job:localhost/replica:0/task:0/device:CPU:0"
CPU1 = "/job:localhost/replica:0/task:0/device:CPU:1"


def _ns(name, op_type, start, dur, nbytes=16):
    out = [NodeOutput(0, TensorDescription("float32", (2, 2), nbytes))]
    return NodeExecStats(name, op_type, start, start + dur, 1, out)


def _step(t0, matmul_us=30):
    """One step on two devices: 2 MatMuls + Relu on CPU:0, an Add on CPU:1 (in parallel)."""
    return StepStats([
        DeviceStepStats("/device:CPU:0", [_ns("a", "MatMul", t0, matmul_us, 64),
                                          _ns("b", "MatMul", t0 + matmul_us, 10, 64),
                                          _ns("r", "Relu", t0 + matmul_us + 10, 5)]),
        DeviceStepStats(CPU1, [_ns("c", "Add", t0, 20)]),
    ])


def test_numbers_by_type_op_and_device():
    prof = profiler.profile([_step(0), _step(1000)], subtract_bias=False)
    assert prof.n_steps == 2 and prof.step_us == [45, 45]
    assert prof.total_op_us == 2 * (30 + 10 + 5 + 20)
    by_type = {r["type"]: r for r in prof.rows("type")}
    mm = by_type["MatMul"]
    assert (mm["calls"], mm["total_us"], mm["mean_us"], mm["min_us"], mm["max_us"]) == \
        (4, 80, 20, 10, 30)
    assert mm["pct_ops"] == pytest.approx(100 * 80 / 130)
    assert mm["pct_step"] == pytest.approx(100 * 80 / 90)
    assert mm["bytes"] == 64
    assert sum(r["pct_ops"] for r in prof.rows("type")) == pytest.approx(100)
    assert [r["type"] for r in prof.rows("type")] == ["MatMul", "Add", "Relu"]
    assert [r["type"] for r in prof.rows("type", sort_by="calls", descending=False)][-1] == \
        "MatMul"
    ops = {r["op"]: r for r in prof.rows("op")}
    assert ops["a"]["calls"] == 2 and ops["a"]["device"] == CPU0  # canonical device names
    devices = {r["device"]: r for r in prof.rows("device")}
    assert devices[CPU0]["total_us"] == 90 and devices[CPU1]["total_us"] == 40
    with pytest.raises(ValueError, match="group_by must be one of"):
        prof.rows("scope")
    with pytest.raises(ValueError, match="sort_by must be one of"):
        prof.rows("type", sort_by="speed")


def test_warm_up_is_reported_and_skippable():
    steps = [_step(0, matmul_us=3000)] + [_step(10000 * i) for i in range(1, 5)]
    prof = profiler.profile(steps, subtract_bias=False)
    assert "the first step took" in prof.summary() and "skip_first=1" in prof.summary()
    warm = profiler.profile(steps, skip_first=1, subtract_bias=False)
    assert warm.n_steps == 4 and "after 1 skipped" in warm.summary()
    assert "first step took" not in warm.summary()
    with pytest.raises(ValueError, match="no traced step"):
        profiler.profile(steps, skip_first=5)
    with pytest.raises(ValueError, match="not a traced step"):
        profiler.profile(tf.RunMetadata())


def test_bias_is_subtracted_from_every_op():
    bias = profiler.trace_bias_us()
    prof = profiler.profile(_step(0))
    assert prof.bias_us == bias > 0
    assert prof.total_op_us == pytest.approx(sum(max(d - bias, 0) for d in (30, 10, 5, 20)))


def test_text_table_like_key_averages():
    prof = profiler.profile([_step(0), _step(1000)], subtract_bias=False)
    text = prof.table(row_limit=2)
    lines = text.splitlines()
    assert lines[0].startswith("OpProfile: 2 steps")
    assert "Op type" in lines[2] and "Calls" in lines[2] and "% step" in lines[2]
    assert lines[4].split()[:2] == ["MatMul", "4"] and "61.5%" in lines[4]
    assert "1 more" in text and "Op time total: 130.0 us over 2 steps" in text
    by_op = prof.table(group_by="op")
    assert "Type" in by_op.splitlines()[2] and "MatMul" in by_op
    assert str(prof) == prof.table()


def test_html_is_three_sortable_tables():
    prof = profiler.profile([_step(0), _step(1000)], subtract_bias=False)
    page = prof._repr_mimebundle_()["text/html"]
    for group in ("type", "op", "device"):
        assert 'class="tfnb-profile-%s"' % group in page
    assert 'data-key="MatMul"' in page and page.count("<script>") == 3
    assert 'data-v="80.0"' in page  # raw values sort numerically


def test_real_traced_steps_and_trace_restores_run():
    x = tf.placeholder(tf.float32, [None, 32], name="x")
    w = tf.Variable(np.ones((32, 32), np.float32), name="w")
    y = tf.reduce_sum(tf.nn.relu(tf.matmul(x, w)), name="y")
    original = session.BaseSession.run
    with tf.Session() as sess:
        sess.run(w.initializer)
        with profiler.trace() as runs:
            for _ in range(4):
                sess.run(y, {x: np.ones((8, 32), np.float32)})
        assert session.BaseSession.run is original and len(runs) == 4
        prof = runs.profile()
    types = {r["type"]: r for r in prof.rows("type")}
    assert types["MatMul"]["calls"] == 4 and types["MatMul"]["bytes"] == 8 * 32 * 4
    assert {"MatMul", "Relu", "Sum"} <= set(types)
    with pytest.raises(RuntimeError):
        with profiler.trace():
            raise RuntimeError("boom")
    assert session.BaseSession.run is original


def test_dataframe_and_missing_pandas(monkeypatch):
    prof = profiler.profile(_step(0), subtract_bias=False)
    pytest.importorskip("pandas")
    df = prof.to_dataframe("op")
    assert list(df["op"])[0] == "a" and "pct_ops" in df.columns
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="needs pandas"):
        prof.to_dataframe()


def test_tf_trace_profile_magic(ip, capsys):
    r = ip.run_cell("import numpy as np\nimport tfnb as tf\n"
                    "x = tf.placeholder(tf.float32, [None], name='x')\n"
                    "y = tf.square(x, name='y')")
    assert r.success
    r = ip.run_cell("%%tf_trace --profile --skip-first 1 -o prof\n"
                    "sess = tf.get_default_session()\n"
                    "for i in range(3):\n    sess.run(y, {x: [1.0, 2.0]})")
    assert r.success, r.error_in_exec
    prof = ip.user_ns["prof"]
    assert isinstance(prof, profiler.OpProfile) and prof.n_steps == 2
    assert [r["type"] for r in prof.rows("type")] == ["Square"]
    out = capsys.readouterr().out
    assert "<StepTimeline:" in out and "OpProfile: 2 steps (after 1 skipped)" in out
