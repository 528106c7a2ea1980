"""tf.data iterators: one-shot, initializable (fed), reinitializable, feedable (string
handles); OutOfRangeError at the end with the session's state unchanged; per-session state;
eager interactive sessions never advance an iterator by themselves."""
import numpy as np
import pytest

import tfnb as tf


def test_one_shot_iterator_refuses_placeholders():
    n = tf.placeholder(tf.int64, [])
    with pytest.raises(ValueError, match="placeholder"):
        tf.data.Dataset.range(n).make_one_shot_iterator()
    it = tf.data.Dataset.range(3).make_one_shot_iterator()
    with pytest.raises(ValueError, match="initializer"):
        it.initializer  # noqa: B018 - the property raises


def test_initializable_iterator_fed_and_restarted():
    n = tf.placeholder(tf.int64, [])
    it = tf.data.Dataset.range(n).map(lambda x: x * 10).make_initializable_iterator()
    nxt = it.get_next()
    with tf.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError, match="not been initialized"):
            sess.run(nxt)
        sess.run(it.initializer, {n: 3})
        assert [sess.run(nxt) for _ in range(2)] == [0, 10]
        sess.run(it.initializer, {n: 2})  # restarts from the beginning
        assert [sess.run(nxt) for _ in range(2)] == [0, 10]
        with pytest.raises(tf.errors.OutOfRangeError, match="End of sequence"):
            sess.run(nxt)


def test_out_of_range_leaves_the_session_state_unchanged():
    v = tf.Variable(5.0)
    it = tf.data.Dataset.from_tensor_slices(np.float32([1.0, 2.0])).make_one_shot_iterator()
    x = it.get_next()
    step = tf.assign_add(v, x)
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert sess.run(step) == 6.0
        assert sess.run(step) == 8.0
        for _ in range(2):  # at the end, again and again
            with pytest.raises(tf.errors.OutOfRangeError):
                sess.run(step)
        assert sess.run(v) == 8.0


def test_two_sessions_iterate_independently():
    nxt = tf.data.Dataset.range(5).make_one_shot_iterator().get_next()
    s1, s2 = tf.Session(), tf.Session()
    try:
        assert [s1.run(nxt), s1.run(nxt)] == [0, 1]
        assert s2.run(nxt) == 0
        assert s1.run(nxt) == 2
    finally:
        s1.close()
        s2.close()


def test_reinitializable_iterator_switches_datasets_and_checks_structure():
    train = tf.data.Dataset.range(4).batch(2)
    val = tf.data.Dataset.range(10, 13).batch(2)
    it = tf.data.Iterator.from_structure(train.output_types, train.output_shapes)
    nxt = it.get_next()
    t_init, v_init = it.make_initializer(train), it.make_initializer(val)
    with tf.Session() as sess:
        sess.run(t_init)
        assert sess.run(nxt).tolist() == [0, 1]
        sess.run(v_init)
        assert sess.run(nxt).tolist() == [10, 11]
        assert sess.run(nxt).tolist() == [12]
        sess.run(t_init)
        assert sess.run(nxt).tolist() == [0, 1]
    with pytest.raises(TypeError, match="output types"):
        it.make_initializer(tf.data.Dataset.from_tensors(np.float32([1.0])))
    with pytest.raises(TypeError, match="output shapes"):
        it.make_initializer(tf.data.Dataset.from_tensors(np.int64(1)))


def test_feedable_iterator_switches_train_and_validation_per_step():
    train = tf.data.Dataset.range(100).repeat()
    val = tf.data.Dataset.range(1000, 1003)
    handle = tf.placeholder(tf.string, [])
    it = tf.data.Iterator.from_string_handle(handle, train.output_types, train.output_shapes)
    nxt = it.get_next()
    train_it = train.make_one_shot_iterator()
    val_it = val.make_initializable_iterator()
    with tf.Session() as sess:
        th, vh = sess.run([train_it.string_handle(), val_it.string_handle()])
        assert isinstance(th, bytes) and th != vh
        assert [sess.run(nxt, {handle: th}) for _ in range(3)] == [0, 1, 2]
        sess.run(val_it.initializer)
        assert [sess.run(nxt, {handle: vh}) for _ in range(3)] == [1000, 1001, 1002]
        with pytest.raises(tf.errors.OutOfRangeError):
            sess.run(nxt, {handle: vh})
        assert sess.run(nxt, {handle: th}) == 3  # training resumes where it was
        with pytest.raises(tf.errors.InvalidArgumentError, match="string handle"):
            sess.run(nxt, {handle: b"junk"})
    other = tf.data.Iterator.from_string_handle(handle, tf.float32)
    with tf.Session() as sess:
        th = sess.run(train_it.string_handle())
        with pytest.raises(tf.errors.InvalidArgumentError, match="not compatible"):
            sess.run(other.get_next(), {handle: th})


def test_sparse_elements_through_an_iterator():
    sp = tf.SparseTensor([[0, 0], [1, 2]], [1, 2], [2, 3])
    it = tf.data.Dataset.from_tensors(sp).make_initializable_iterator()
    got = it.get_next()
    assert isinstance(got, tf.SparseTensor)
    with tf.Session() as sess:
        sess.run(it.initializer)
        v = sess.run(got)
    assert v.indices.tolist() == [[0, 0], [1, 2]] and v.dense_shape.tolist() == [2, 3]


def test_eager_interactive_session_does_not_advance_iterators():
    g = tf.Graph()
    sess = tf.InteractiveSession(graph=g, eager=True)
    try:
        ds = tf.data.Dataset.range(3)
        it = ds.make_initializable_iterator()
        nxt = it.get_next()
        nxt2 = nxt * 2  # built on get_next: not evaluated either
        sess.run(it.initializer)
        assert sess.run(nxt) == 0  # nothing was consumed when the ops were created
        assert sess.run(nxt2) == 2
        assert list(ds) == [0, 1, 2]  # iterating a dataset eagerly
        one_shot = tf.data.Dataset.range(2).make_one_shot_iterator().get_next()
        assert sess.run(one_shot) == 0
    finally:
        sess.close()


def test_iterating_in_graph_mode_is_refused():
    with pytest.raises(RuntimeError, match="eager"):
        iter(tf.data.Dataset.range(2)).__next__()


def test_end_of_epoch_inside_monitored_session_is_a_normal_stop():
    nxt = tf.data.Dataset.range(3).map(lambda x: x * 2).make_one_shot_iterator().get_next()
    got = []
    with tf.train.MonitoredSession() as sess:
        while not sess.should_stop():
            got.append(sess.run(nxt))
    assert got == [0, 2, 4]


def test_worker_threads_stop_with_the_session():
    import threading
    import time
    ds = tf.data.Dataset.range(10 ** 6).map(lambda x: x + 1, num_parallel_calls=2).prefetch(4)
    nxt = ds.make_one_shot_iterator().get_next()
    before = {t.ident for t in threading.enumerate()}
    sess = tf.Session()
    assert sess.run(nxt) == 1
    started = [t for t in threading.enumerate() if t.ident not in before]
    assert any(t.name.startswith("tfnb-prefetch") for t in started)
    sess.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(t.is_alive() for t in started
                                              if t.name.startswith("tfnb-prefetch")):
        time.sleep(0.02)
    assert not any(t.is_alive() for t in started if t.name.startswith("tfnb-prefetch"))


def test_pipeline_survives_graph_export_and_import():
    g = tf.Graph()
    with g.as_default():
        ds = tf.data.Dataset.range(10).map(lambda x: x * 3).filter(lambda x: x % 2 > 0).batch(2)
        it = ds.make_initializable_iterator()
        tf.identity(it.get_next(), name="out")
    g2 = tf.Graph()
    with g2.as_default():
        tf.import_graph_def(g.as_graph_def(), name="")
        with tf.Session() as sess:
            sess.run("MakeIterator")
            assert [sess.run("out:0").tolist() for _ in range(2)] == [[3, 9], [15, 21]]
