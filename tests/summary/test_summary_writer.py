"""FileWriter: event files read back with an independent reader -- tags, steps, values,
the graph as a GraphDef (nodes, ops, devices, attrs), run metadata, session logs --
and its lifetime (flush, close, reopen, garbage collection) and bad input."""
import gc
import logging
import os
import time

import numpy as np
import pytest
from summary_helpers import event_files, read_events, summary_values
from tensorboardX.proto import graph_pb2

import tfnb as tf
from tfnb.summary import protos
from tfnb.summary.event_file import os_error


def open_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def only_file(logdir):
    (path,) = event_files(logdir)
    return path


def test_scalars_round_trip_with_tags_steps_and_values(tmp_path):
    loss = tf.placeholder(tf.float32, [])
    with tf.name_scope("train"):
        tf.summary.scalar("loss", loss)
        tf.summary.scalar("twice", loss * 2)
    merged = tf.summary.merge_all()
    with tf.Session() as sess:
        writer = tf.summary.FileWriter(str(tmp_path))
        for step in range(3):
            writer.add_summary(sess.run(merged, {loss: 0.5 * step}), global_step=step * 10)
        writer.close()
    path = only_file(tmp_path)
    assert os.path.basename(path).startswith("events.out.tfevents.")
    events = read_events(path)
    assert events[0].file_version == "brain.Event:2"
    got = [(step, v.tag, v.simple_value) for step, v in summary_values(events)]
    assert got == [(0, "train/loss", 0.0), (0, "train/twice", 0.0), (10, "train/loss", 0.5),
                   (10, "train/twice", 1.0), (20, "train/loss", 1.0), (20, "train/twice", 2.0)]
    times = [e.wall_time for e in events]
    assert times == sorted(times) and abs(times[-1] - time.time()) < 60


def test_nan_summaries_are_written_as_nan_and_flagged(tmp_path, caplog):
    x = tf.placeholder(tf.float32, [])
    s = tf.summary.scalar("loss", x)
    with tf.Session() as sess, tf.summary.FileWriter(tmp_path) as writer:
        with caplog.at_level(logging.WARNING, logger="tfnb.summary"):
            writer.add_summary(sess.run(s, {x: np.nan}), 1)
            writer.add_summary(sess.run(s, {x: 2.0}), 2)
    values = summary_values(read_events(only_file(tmp_path)))
    assert [step for step, _ in values] == [1, 2]
    assert np.isnan(values[0][1].simple_value) and values[1][1].simple_value == 2.0
    assert len(caplog.records) == 1 and "'loss'" in caplog.records[0].getMessage()


def test_every_summary_kind_reaches_the_file(tmp_path):
    tf.summary.histogram("h", tf.constant([1.0, 2.0, 2.0]))
    tf.summary.image("i", tf.zeros([2, 4, 4, 3], tf.uint8))
    tf.summary.audio("a", tf.zeros([1, 8]), 8000)
    tf.summary.text("t", tf.constant("hello"))
    tf.summary.tensor_summary("ts", tf.constant([1, 2, 3]))
    with tf.Session() as sess, tf.summary.FileWriter(tmp_path) as writer:
        writer.add_summary(sess.run(tf.summary.merge_all()), 5)
    values = {v.tag: v for _, v in summary_values(read_events(only_file(tmp_path)))}
    assert sorted(values) == ["a/audio/0", "h", "i/image/0", "i/image/1", "t", "ts"]
    assert sum(values["h"].histo.bucket) == 3
    assert (values["i/image/1"].image.width, values["i/image/1"].image.colorspace) == (4, 3)
    assert values["a/audio/0"].audio.sample_rate == 8000
    assert list(values["t"].tensor.string_val) == [b"hello"]


def test_plugin_metadata_is_written_once_per_tag_as_tf1(tmp_path):
    t = tf.summary.text("notes", tf.constant("x"))
    with tf.Session() as sess, tf.summary.FileWriter(tmp_path) as writer:
        for step in range(2):
            writer.add_summary(sess.run(t), step)
    first, second = [v for _, v in summary_values(read_events(only_file(tmp_path)))]
    assert first.metadata.plugin_data.plugin_name == "text"
    assert not second.HasField("metadata") and list(second.tensor.string_val) == [b"x"]


def test_add_summary_takes_protos_and_fetched_arrays_and_rejects_junk(tmp_path):
    with tf.summary.FileWriter(tmp_path) as writer:
        writer.add_summary(tf.Summary(value=[tf.Summary.Value(tag="manual", simple_value=3.0)]), 1)
        proto = tf.Summary(value=[tf.Summary.Value(tag="arr", simple_value=4.0)])
        writer.add_summary(np.array(proto.SerializeToString(), dtype=object), 2)
        with pytest.raises(TypeError, match="Summary"):
            writer.add_summary("not a summary")
    got = [(s, v.tag, v.simple_value) for s, v in summary_values(read_events(only_file(tmp_path)))]
    assert got == [(1, "manual", 3.0), (2, "arr", 4.0)]


# ----------------------------------------------------------------------------------------------
# Graph
# ----------------------------------------------------------------------------------------------
def _graph_from_events(events):
    (event,) = [e for e in events if e.HasField("graph_def")]
    return graph_pb2.GraphDef.FromString(event.graph_def)


def test_graph_is_written_as_a_tf_graph_def_with_devices(tmp_path):
    with tf.device("/cpu:0"):
        x = tf.placeholder(tf.float32, [None, 3], name="x")
        parts = tf.split(x, 3, axis=1, name="split")
    with tf.device("/job:worker/task:1/gpu:0"):
        w = tf.Variable(np.ones((1, 2), np.float32), name="w")
        y = tf.matmul(parts[1], w, name="y")
    with tf.control_dependencies([y]), tf.colocate_with(y):
        z = tf.identity(parts[2], name="z")
    big = tf.constant(np.zeros(1000, np.float32), name="big")
    with tf.Session() as sess:
        tf.summary.FileWriter(tmp_path, sess.graph).close()
    gd = _graph_from_events(read_events(only_file(tmp_path)))
    nodes = {n.name: n for n in gd.node}
    assert list(nodes) == [op.name for op in tf.get_default_graph().get_operations()]
    assert (nodes["x"].op, nodes["x"].device) == ("Placeholder", "/device:CPU:0")
    assert nodes["y"].op == "MatMul" and nodes["y"].device == "/job:worker/task:1/device:GPU:0"
    assert nodes["y"].input[0] == "split:1"
    assert list(nodes["z"].input) == ["split:2", "^y"]
    assert list(nodes["z"].attr["_class"].list.s) == [b"loc:@y"]
    assert nodes["x"].attr["dtype"].type == tf.float32.as_datatype_enum == 1
    shape = nodes["x"].attr["_output_shapes"].list.shape[0]
    assert [d.size for d in shape.dim] == [-1, 3]
    assert [[d.size for d in s.dim] for s in nodes["split"].attr["_output_shapes"].list.shape] \
        == [[-1, 1]] * 3
    assert nodes["y"].attr["transpose_a"].b is False
    # Small constants carry their value; big ones only dtype and shape.
    value = nodes["w/Initializer/initial_value"].attr["value"].tensor
    np.testing.assert_array_equal(np.frombuffer(value.tensor_content, "<f4"), [1, 1])
    big_value = nodes["big"].attr["value"].tensor
    assert [d.size for d in big_value.tensor_shape.dim] == [1000] and not big_value.tensor_content
    assert z.op.name == "z" and big.op.name == "big"


def test_add_graph_takes_graphs_and_graph_defs_and_odd_attrs(tmp_path):
    x = tf.constant([1.0, 2.0], name="c")
    tf.cond(x[0] > 0, lambda: x * 2, lambda: x, name="branch")
    tf.get_default_graph().get_operation_by_name("c")._set_attr("_note", {"made": "by hand"})
    with tf.summary.FileWriter(tmp_path) as writer:
        writer.add_graph(tf.get_default_graph(), global_step=3)
        with pytest.raises(ValueError, match="exactly one"):
            writer.add_graph(None)
    gd = _graph_from_events(read_events(only_file(tmp_path)))
    nodes = {n.name: n for n in gd.node}
    assert nodes["c"].attr["_note"].s == b"{'made': 'by hand'}"  # best effort: its repr
    (if_node,) = [n for n in gd.node if n.op == "If"]
    assert if_node.attr["then"].func.name and if_node.attr["else"].func.name
    with tf.Graph().as_default():
        tf.constant(1.0, name="only")
        gd2 = tf.get_default_graph().as_graph_def()
    with tf.summary.FileWriter(tmp_path / "two") as writer:
        writer.add_graph(None, graph_def=gd2)
    assert [n.name for n in _graph_from_events(read_events(only_file(tmp_path / "two"))).node] \
        == ["only"]


# ----------------------------------------------------------------------------------------------
# Run metadata and session logs
# ----------------------------------------------------------------------------------------------
def test_run_metadata_is_written_with_step_stats(tmp_path):
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    w = tf.Variable(np.ones((3, 2), np.float32), name="w")
    y = tf.nn.relu(tf.matmul(x, w), name="y")
    with tf.Session() as sess, tf.summary.FileWriter(tmp_path, sess.graph) as writer:
        sess.run(w.initializer)
        md = tf.RunMetadata()
        sess.run(y, {x: np.ones((4, 3))}, run_metadata=md,
                 options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE))
        writer.add_run_metadata(md, "step_7", global_step=7)
        with pytest.raises(ValueError, match="already used"):
            writer.add_run_metadata(md, "step_7")
    (event,) = [e for e in read_events(only_file(tmp_path)) if e.HasField("tagged_run_metadata")]
    assert event.step == 7 and event.tagged_run_metadata.tag == "step_7"
    proto = protos.load().RunMetadata.FromString(event.tagged_run_metadata.run_metadata)
    (dev,) = proto.step_stats.dev_stats
    assert dev.device == "/job:localhost/replica:0/task:0/device:CPU:0"
    stats = {n.node_name: n for n in dev.node_stats}
    assert {"y", "MatMul"} <= set(stats)
    mm = stats["MatMul"]
    assert mm.all_start_micros > 1e15 and mm.all_end_rel_micros >= 0
    (out,) = mm.output
    assert [d.size for d in out.tensor_description.shape.dim] == [4, 2]
    assert out.tensor_description.dtype == 1
    assert out.tensor_description.allocation_description.requested_bytes == 32
    assert mm.memory[0].total_bytes == 32 and mm.memory[0].allocator_name == "cpu"
    assert mm.timeline_label == "MatMul = MatMul()"


def test_untraced_run_metadata_gives_empty_step_stats(tmp_path):
    with tf.summary.FileWriter(tmp_path) as writer:
        writer.add_run_metadata(tf.RunMetadata(), "untraced")
    (event,) = [e for e in read_events(only_file(tmp_path)) if e.HasField("tagged_run_metadata")]
    proto = protos.load().RunMetadata.FromString(event.tagged_run_metadata.run_metadata)
    assert proto.HasField("step_stats") and not proto.step_stats.dev_stats


def test_session_logs(tmp_path):
    with tf.summary.FileWriter(tmp_path) as writer:
        writer.add_session_log(tf.SessionLog(status=tf.SessionLog.START), 0)
        writer.add_session_log(tf.SessionLog(status=tf.SessionLog.CHECKPOINT,
                                             checkpoint_path="/ckpt/model-5", msg="saved"), 5)
        with pytest.raises(TypeError, match="SessionLog"):
            writer.add_session_log("START")
    logs = [(e.step, e.session_log) for e in read_events(only_file(tmp_path))
            if e.HasField("session_log")]
    assert [(s, log.status) for s, log in logs] == [(0, tf.SessionLog.START),
                                                    (5, tf.SessionLog.CHECKPOINT)]
    assert logs[1][1].checkpoint_path == "/ckpt/model-5" and logs[1][1].msg == "saved"


# ----------------------------------------------------------------------------------------------
# Lifetime
# ----------------------------------------------------------------------------------------------
def _manual(tag, value):
    return tf.Summary(value=[tf.Summary.Value(tag=tag, simple_value=value)])


def test_flush_writes_everything_before_close(tmp_path):
    writer = tf.summary.FileWriter(tmp_path, max_queue=2, flush_secs=3600)
    try:
        for step in range(20):
            writer.add_summary(_manual("a", step), step)
        writer.flush()
        values = summary_values(read_events(only_file(tmp_path)))
        assert [v.simple_value for _, v in values] == list(range(20))
    finally:
        writer.close()


def test_events_are_flushed_every_flush_secs(tmp_path):
    with tf.summary.FileWriter(tmp_path, flush_secs=0.05) as writer:
        writer.add_summary(_manual("bg", 1.0), 1)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not summary_values(read_events(only_file(tmp_path))):
            time.sleep(0.02)
        assert [v.tag for _, v in summary_values(read_events(only_file(tmp_path)))] == ["bg"]


def test_close_drops_with_a_warning_and_reopen_starts_a_new_file(tmp_path, caplog):
    writer = tf.summary.FileWriter(tmp_path, filename_suffix=".v1")
    assert writer.get_logdir() == str(tmp_path)
    writer.add_summary(_manual("before", 1.0), 1)
    writer.close()
    writer.close()  # closing twice is harmless
    with caplog.at_level(logging.WARNING, logger="tfnb.summary"):
        writer.add_summary(_manual("dropped", 2.0), 2)
        writer.add_summary(_manual("dropped", 3.0), 3)
    assert len(caplog.records) == 1 and "reopen" in caplog.records[0].getMessage()
    writer.flush()  # a no-op on a closed writer
    writer.reopen()
    writer.add_summary(_manual("after", 4.0), 4)
    writer.reopen()  # open already: nothing happens
    writer.close()
    first, second = event_files(tmp_path)
    assert first.endswith(".v1") and second.endswith(".v1")
    tags = [[v.tag for _, v in summary_values(read_events(p))] for p in (first, second)]
    assert tags == [["before"], ["after"]]
    assert read_events(second)[0].file_version == "brain.Event:2"


def test_writers_in_one_directory_use_separate_files(tmp_path):
    with tf.summary.FileWriter(tmp_path) as a, tf.summary.FileWriter(tmp_path) as b:
        a.add_summary(_manual("a", 1.0))
        b.add_summary(_manual("b", 2.0))
    assert len(event_files(tmp_path)) == 2


def test_a_forgotten_writer_is_flushed_when_collected(tmp_path):
    writer = tf.summary.FileWriter(tmp_path, flush_secs=3600)
    writer.add_summary(_manual("kept", 1.0), 1)
    del writer
    gc.collect()
    assert [v.tag for _, v in summary_values(read_events(only_file(tmp_path)))] == ["kept"]


def test_file_writer_cache_and_tf1_aliases(tmp_path):
    a = tf.summary.FileWriterCache.get(str(tmp_path))
    assert tf.summary.FileWriterCache.get(str(tmp_path)) is a
    tf.summary.FileWriterCache.clear()
    assert tf.summary.FileWriterCache.get(str(tmp_path)) is not a
    tf.summary.FileWriterCache.clear()
    assert tf.train.SummaryWriter is tf.summary.FileWriter
    events = list(tf.train.summary_iterator(event_files(tmp_path)[0]))
    assert events[0].file_version == "brain.Event:2" and events[1].HasField("graph_def")


# ----------------------------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------------------------
def test_unwritable_logdir_fails_at_creation_with_a_clear_error(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    with pytest.raises(tf.errors.FailedPreconditionError,
                       match="logdir .*a_file/logs.* is not a writable directory"):
        tf.summary.FileWriter(blocker / "logs")
    with pytest.raises(tf.errors.FailedPreconditionError, match="not a writable directory"):
        tf.summary.FileWriter(blocker)
    assert blocker.read_text() == "not a directory"


def test_os_errors_map_to_typed_errors():
    assert isinstance(os_error(PermissionError(13, "Permission denied"), "x"),
                      tf.errors.PermissionDeniedError)
    assert isinstance(os_error(OSError(30, "Read-only file system"), "x"),
                      tf.errors.PermissionDeniedError)
    assert isinstance(os_error(OSError(28, "No space left on device"), "x"),
                      tf.errors.ResourceExhaustedError)


def test_summary_iterator_detects_corruption_and_truncation(tmp_path):
    with tf.summary.FileWriter(tmp_path) as writer:
        writer.add_summary(_manual("a", 1.0), 1)
    path = only_file(tmp_path)
    data = bytearray(open_bytes(path))
    assert len(list(tf.train.summary_iterator(path))) == 2
    (tmp_path / "cut").write_bytes(bytes(data[:-3]))
    with pytest.raises(tf.errors.DataLossError, match="Truncated"):
        list(tf.train.summary_iterator(str(tmp_path / "cut")))
    data[-6] ^= 0xFF
    (tmp_path / "flipped").write_bytes(bytes(data))
    with pytest.raises(tf.errors.DataLossError, match="data checksum"):
        list(tf.train.summary_iterator(str(tmp_path / "flipped")))
