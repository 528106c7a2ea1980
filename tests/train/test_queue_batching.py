"""Queue-based batching beyond tf.train.batch: bucketing (tf.contrib.training.bucket*),
tf.PriorityQueue, maybe_batch / *_join / maybe_shuffle_batch, slim's prefetch_queue.

Every pipeline runs in a session whose blocking ops time out (operation_timeout_in_ms), under
a Coordinator whose threads are joined, so a broken pipeline fails the test instead of hanging.
"""
import collections

import numpy as np
import pytest

import tfnb as tf

_CONFIG = dict(operation_timeout_in_ms=20000)


def _session():
    return tf.Session(config=tf.ConfigProto(**_CONFIG))


def _drain(fetches, max_steps=1000):
    """Runs ``fetches`` until the pipeline ends (OutOfRangeError); returns every result."""
    out = []
    with _session() as sess:
        sess.run([tf.global_variables_initializer(), tf.local_variables_initializer()])
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess, coord)
        try:
            for _ in range(max_steps):
                out.append(sess.run(fetches))
            raise AssertionError("the pipeline did not end")
        except tf.errors.OutOfRangeError:
            pass
        finally:
            coord.request_stop()
            coord.join(threads, stop_grace_period_secs=10)
    assert not any(t.is_alive() for t in threads)
    return out


def _producer(n):
    """An int32 scalar running over 0 .. n-1 once, in order."""
    return tf.train.range_input_producer(n, num_epochs=1, shuffle=False).dequeue()


# ----------------------------------------------------------------------------------------------
# Bucketing
# ----------------------------------------------------------------------------------------------
def _reference_buckets(lengths, boundaries, batch_size, smaller_final):
    """Per bucket, the list of (lengths, padded sequences) batches, in enqueue order."""
    edges = [-np.inf] + list(boundaries) + [np.inf]
    per_bucket = collections.defaultdict(list)
    for idx, n in enumerate(lengths):
        b = next(i for i in range(len(edges) - 1) if edges[i] <= n < edges[i + 1])
        per_bucket[b].append(idx)
    out = {}
    for b, ids in per_bucket.items():
        batches = []
        for s in range(0, len(ids), batch_size):
            chunk = ids[s:s + batch_size]
            if len(chunk) < batch_size and not smaller_final:
                break
            width = max(lengths[i] for i in chunk)
            padded = np.zeros((len(chunk), width), np.int32)
            for r, i in enumerate(chunk):
                padded[r, :lengths[i]] = _sequence(i, lengths[i])
            batches.append((np.array([lengths[i] for i in chunk], np.int32), padded))
        out[b] = batches
    return out


def _sequence(i, n):
    return 100 * (i + 1) + np.arange(n, dtype=np.int32)


@pytest.mark.parametrize("smaller_final", [True, False])
def test_bucket_by_sequence_length_matches_a_python_reference(no_leaked_threads, smaller_final):
    rng = np.random.RandomState(7)
    lengths = rng.randint(1, 15, size=40).astype(np.int32)
    boundaries = [4, 8, 11]
    i = _producer(len(lengths))
    n = tf.gather(tf.constant(lengths), i)
    seq = 100 * (i + 1) + tf.range(n)
    length_b, (seq_b,) = tf.contrib.training.bucket_by_sequence_length(
        n, [seq], batch_size=3, bucket_boundaries=boundaries, dynamic_pad=True,
        allow_smaller_final_batch=smaller_final)
    assert seq_b.shape.as_list() == [None if smaller_final else 3, None]
    got = _drain([length_b, seq_b])
    want = _reference_buckets(lengths, boundaries, 3, smaller_final)
    # Batches of one bucket come in order; the buckets' runners interleave freely.
    edges = [-np.inf] + boundaries + [np.inf]
    got_per_bucket = collections.defaultdict(list)
    for lb, sb in got:
        b = next(k for k in range(len(edges) - 1) if edges[k] <= lb[0] < edges[k + 1])
        got_per_bucket[b].append((lb, sb))
    assert sorted(got_per_bucket) == sorted(b for b in want if want[b])
    for b, batches in want.items():
        assert len(got_per_bucket[b]) == len(batches), b
        for (lg, sg), (lw, sw) in zip(got_per_bucket[b], batches):
            np.testing.assert_array_equal(lg, lw)
            np.testing.assert_array_equal(sg, sw)  # padded to the longest of this batch only


def test_bucket_with_per_bucket_batch_sizes_and_keep_input(no_leaked_threads):
    i = _producer(30)
    which = tf.mod(i, 3)
    keep = tf.not_equal(tf.mod(i, 4), 0)
    bucket_id, (x, y) = tf.contrib.training.bucket(
        [i, tf.cast(i, tf.float32) * 0.5], which, batch_size=[2, 3, 4], num_buckets=3,
        keep_input=keep, allow_smaller_final_batch=True)
    assert bucket_id.shape.as_list() == [] and x.shape.as_list() == [None]
    assert len(tf.get_collection(tf.GraphKeys.QUEUE_RUNNERS)) == 3  # producer, input, top
    got = collections.defaultdict(list)
    for b, xs, ys in _drain([bucket_id, x, y]):
        got[int(b)].append(list(xs))
        np.testing.assert_allclose(ys, xs * 0.5)
    for b, size in zip(range(3), [2, 3, 4]):
        kept = [k for k in range(30) if k % 3 == b and k % 4 != 0]
        assert got[b] == [kept[s:s + size] for s in range(0, len(kept), size)]


def test_bucket_rejects_bad_arguments():
    x = tf.constant(1.0)
    with pytest.raises(ValueError, match="batch_size"):
        tf.contrib.training.bucket([x], 0, batch_size=[1, 2], num_buckets=3)
    with pytest.raises(ValueError, match="bucket_boundaries"):
        tf.contrib.training.bucket_by_sequence_length(3, [x], 2, bucket_boundaries=[5, 5])
    with pytest.raises(ValueError, match="keep_input"):
        tf.contrib.training.bucket([x], 0, 2, 2, keep_input=tf.constant([True, False]))


# ----------------------------------------------------------------------------------------------
# PriorityQueue
# ----------------------------------------------------------------------------------------------
def test_priority_queue_gives_lowest_priority_first_ties_in_order():
    q = tf.PriorityQueue(10, [tf.string, tf.float32], shapes=[[], [2]])
    assert [d.name for d in q.dtypes] == ["int64", "string", "float32"]
    fill = q.enqueue_many([[5, 1, 3, 1, 0],
                           [b"e", b"a", b"c", b"a2", b"z"],
                           np.arange(10, dtype=np.float32).reshape(5, 2)])
    one = q.enqueue([4, b"d", [7.0, 8.0]])
    first = q.dequeue()
    rest = q.dequeue_many(4)
    size = q.size()
    with _session() as sess:
        sess.run([fill, one])
        assert sess.run(size) == 6
        p, s, v = sess.run(first)
        assert (p, s) == (0, b"z") and list(v) == [8.0, 9.0]
        p, s, v = sess.run(rest)
        assert list(p) == [1, 1, 3, 4] and list(s) == [b"a", b"a2", b"c", b"d"]
        np.testing.assert_array_equal(v, [[2, 3], [6, 7], [4, 5], [7, 8]])
        sess.run(q.close())
        p, s, _ = sess.run(q.dequeue_up_to(3))
        assert list(p) == [5] and list(s) == [b"e"]
        with pytest.raises(tf.errors.OutOfRangeError):
            sess.run(first)


def test_priority_queue_checks_the_priority():
    q = tf.PriorityQueue(4, [tf.int32], shapes=[[]])
    with pytest.raises(ValueError, match="int64"):
        q.enqueue([tf.constant(1.5), 3])
    unshaped = tf.PriorityQueue(4, [tf.int32])
    bad = unshaped.enqueue([tf.constant([1, 2], tf.int64), 3])
    with _session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match="priority"):
            sess.run(bad)
        assert sess.run(unshaped.size()) == 0


def test_priority_queue_fed_by_a_runner_sorts_each_batch(no_leaked_threads):
    # The runner enqueues 0..9 with priority (7 * i) % 10 before anyone dequeues.
    i = _producer(10)
    q = tf.PriorityQueue(16, [tf.int32], shapes=[[]])
    prio = tf.cast(tf.mod(7 * i, 10), tf.int64)
    tf.train.add_queue_runner(tf.train.QueueRunner(q, [q.enqueue([prio, i])]))
    with _session() as sess:
        sess.run(tf.local_variables_initializer())
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess, coord)
        try:
            deadline = 200
            while not sess.run(q.is_closed()) and deadline:
                deadline -= 1
                coord.wait_for_stop(0.02)
            p, v = sess.run(q.dequeue_up_to(20))
        finally:
            coord.request_stop()
            coord.join(threads, stop_grace_period_secs=10)
    assert list(p) == list(range(10))
    assert list(v) == [(3 * k) % 10 for k in range(10)]  # 7 * 3 = 21 = 1 (mod 10)


# ----------------------------------------------------------------------------------------------
# maybe_batch, *_join, maybe_shuffle_batch
# ----------------------------------------------------------------------------------------------
def test_maybe_batch_keeps_only_flagged_examples(no_leaked_threads):
    i = _producer(20)
    x, y = tf.train.maybe_batch([i, tf.square(i)], tf.equal(tf.mod(i, 3), 0), batch_size=3,
                                allow_smaller_final_batch=True)
    got = _drain([x, y])
    kept = [k for k in range(20) if k % 3 == 0]
    assert [list(a) for a, _ in got] == [kept[s:s + 3] for s in range(0, len(kept), 3)]
    for a, b in got:
        np.testing.assert_array_equal(b, a ** 2)


def test_maybe_batch_enqueue_many_with_a_flag_per_example_and_dynamic_pad(no_leaked_threads):
    i = _producer(6)
    # Each run enqueues 2 examples (rows of length i + 1), keeping the first one only.
    rows = tf.stack([tf.range(i + 1), 10 + tf.range(i + 1)])
    ids = tf.stack([2 * i, 2 * i + 1])
    got = _drain(tf.train.maybe_batch({"row": rows, "id": ids}, tf.constant([True, False]),
                                      batch_size=4, enqueue_many=True, dynamic_pad=True,
                                      shapes=[[], [None]], allow_smaller_final_batch=True))
    assert [list(d["id"]) for d in got] == [[0, 2, 4, 6], [8, 10]]
    want = np.zeros((4, 4), np.int32)
    for r in range(4):
        want[r, :r + 1] = np.arange(r + 1)
    np.testing.assert_array_equal(got[0]["row"], want)
    assert got[1]["row"].shape == (2, 6)


def test_maybe_batch_rejects_a_vector_flag_without_enqueue_many():
    with pytest.raises(ValueError, match="keep_input"):
        tf.train.maybe_batch([tf.constant(1)], tf.constant([True]), batch_size=2)


def test_batch_join_interleaves_several_readers(no_leaked_threads):
    readers = [[_producer(12) + 100 * r, tf.fill([2], r)] for r in range(3)]
    values, owners = tf.train.batch_join(readers, batch_size=5, capacity=4,
                                         allow_smaller_final_batch=True)
    assert values.shape.as_list() == [None] and owners.shape.as_list() == [None, 2]
    assert len(tf.get_collection(tf.GraphKeys.QUEUE_RUNNERS)) == 4
    got = _drain([values, owners])
    flat = np.concatenate([v for v, _ in got])
    owner = np.concatenate([o[:, 0] for _, o in got])
    np.testing.assert_array_equal(owner, flat // 100)
    assert sorted(flat) == sorted(100 * r + k for r in range(3) for k in range(12))
    for r in range(3):  # each reader's examples keep their order
        assert list(flat[owner == r]) == [100 * r + k for k in range(12)]
    assert [len(v) for v, _ in got] == [5] * 7 + [1]
    # A small queue shared by three threads: the readers' examples alternate within the run.
    switches = np.count_nonzero(np.diff(owner))
    assert switches >= 2


def test_shuffle_batch_join_and_maybe_shuffle_batch_keep_every_example(no_leaked_threads):
    readers = [{"v": _producer(10) + 100 * r} for r in range(2)]
    joined = tf.train.shuffle_batch_join(readers, batch_size=4, capacity=12,
                                         min_after_dequeue=2, seed=1,
                                         allow_smaller_final_batch=True)
    got = np.concatenate([d["v"] for d in _drain(joined)])
    assert sorted(got) == [100 * r + k for r in range(2) for k in range(10)]

    tf.reset_default_graph()
    i = _producer(30)
    x = tf.train.maybe_shuffle_batch([i], batch_size=4, capacity=10, min_after_dequeue=3,
                                     keep_input=tf.less(i, 17), seed=2, num_threads=2,
                                     allow_smaller_final_batch=True)
    got = np.concatenate(_drain(x))
    assert sorted(got) == list(range(17))
    assert list(got) != list(range(17))  # shuffled (fixed seed)


# ----------------------------------------------------------------------------------------------
# slim.prefetch_queue
# ----------------------------------------------------------------------------------------------
def test_prefetch_queue_delivers_the_same_batches(no_leaked_threads):
    i = _producer(12)
    images, labels = tf.train.batch([tf.fill([2, 2], tf.cast(i, tf.float32)), i * 10],
                                    batch_size=4)
    queue = tf.contrib.slim.prefetch_queue.prefetch_queue([images, labels], capacity=2)
    assert len(tf.get_collection(tf.GraphKeys.QUEUE_RUNNERS)) == 3
    im, lb = queue.dequeue()
    assert im.shape.as_list() == [4, 2, 2] and lb.shape.as_list() == [4]
    got = _drain([im, lb])
    assert len(got) == 3
    for step, (a, b) in enumerate(got):
        ids = np.arange(4 * step, 4 * step + 4)
        np.testing.assert_array_equal(b, ids * 10)
        np.testing.assert_array_equal(a, np.broadcast_to(ids[:, None, None], (4, 2, 2)))


def test_prefetch_queue_of_a_dict_with_dynamic_pad(no_leaked_threads):
    i = _producer(3)
    queue = tf.contrib.slim.prefetch_queue.prefetch_queue(
        {"seq": tf.range(i + 2), "n": i}, capacity=4, num_threads=1, dynamic_pad=True)
    got = _drain(queue.dequeue())
    assert [int(d["n"]) for d in got] == [0, 1, 2]
    assert [list(d["seq"]) for d in got] == [list(range(k + 2)) for k in range(3)]


def test_a_stop_request_ends_every_bucketing_thread(no_leaked_threads):
    # Endless input, small queues: threads block on full bucket queues and a full top queue;
    # request_stop must cancel them all.
    i = tf.train.range_input_producer(1000, shuffle=False).dequeue()
    n = tf.mod(i, 9) + 1
    length_b, (seq_b,) = tf.contrib.training.bucket_by_sequence_length(
        n, [tf.range(n)], batch_size=2, bucket_boundaries=[3, 6], capacity=2,
        bucket_capacities=[2, 2, 2], num_threads=2, dynamic_pad=True)
    with _session() as sess:
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess, coord)
        try:
            for _ in range(5):
                lengths, seqs = sess.run([length_b, seq_b])
                assert seqs.shape == (2, max(lengths))
                bucket = np.searchsorted([3, 6], lengths, side="right")
                assert bucket[0] == bucket[1]  # one bucket per batch
            coord.wait_for_stop(0.2)  # let every queue fill up
        finally:
            coord.request_stop()
            coord.join(threads, stop_grace_period_secs=10)
        assert not any(t.is_alive() for t in threads)


def test_maybe_batch_enqueue_many_with_one_flag_for_the_whole_batch(no_leaked_threads):
    i = _producer(5)
    pair = tf.stack([2 * i, 2 * i + 1])
    x = tf.train.maybe_batch([pair], tf.not_equal(i, 2), batch_size=3, enqueue_many=True,
                             allow_smaller_final_batch=True)
    got = np.concatenate(_drain(x))
    assert list(got) == [0, 1, 2, 3, 6, 7, 8, 9]
