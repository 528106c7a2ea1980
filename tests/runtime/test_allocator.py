"""Freed arrays are reused by the next step instead of arriving as fresh zeroed pages
(tfnb/runtime/allocator.py): page faults per step, not time, so the test is not timing-bound."""
import os
import resource
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tfnb as tf
from tfnb.runtime import allocator

glibc = pytest.mark.skipif(allocator._libc() is None, reason="needs glibc's mallopt")

_PROGRAM = textwrap.dedent("""
    import resource
    import numpy as np
    import tfnb as tf
    rng = np.random.default_rng(0)
    x = tf.placeholder(tf.float32, [50, 28, 28, 1])
    labels = tf.placeholder(tf.int32, [50])
    w1 = tf.Variable(rng.standard_normal((5, 5, 1, 32)).astype(np.float32) * 0.1)
    w2 = tf.Variable(rng.standard_normal((5, 5, 32, 64)).astype(np.float32) * 0.05)
    wf = tf.Variable(rng.standard_normal((7 * 7 * 64, 10)).astype(np.float32) * 0.01)
    h = tf.nn.max_pool(tf.nn.relu(tf.nn.conv2d(x, w1, [1, 1, 1, 1], "SAME")),
                       [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
    h = tf.nn.max_pool(tf.nn.relu(tf.nn.conv2d(h, w2, [1, 1, 1, 1], "SAME")),
                       [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
    logits = tf.matmul(tf.reshape(h, [50, -1]), wf)
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                                        logits=logits))
    train = tf.train.AdamOptimizer(1e-4).minimize(loss)
    feed = {x: rng.random((50, 28, 28, 1), dtype=np.float32), labels: np.arange(50) % 10}
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(5):
            sess.run([train, loss], feed)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(10):
            sess.run([train, loss], feed)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    print((after - before) / 10.0)
""")


def _faults_per_step(keep):
    env = dict(os.environ, TFNB_KEEP_FREED_BUFFERS=keep, OPENBLAS_NUM_THREADS="1",
               TFNB_ADAPTIVE_THREADS="0")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", _PROGRAM], env=env, cwd=root, timeout=120,
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


@glibc
def test_steps_reuse_freed_buffers_instead_of_faulting_in_new_pages():
    # A small CNN step (W4's layers): without the tuning glibc hands back fresh pages for
    # its multi-MB activations and patch matrices every step; with it, (almost) none.
    untuned = _faults_per_step("0")
    tuned = _faults_per_step("1")
    assert untuned > 500, untuned
    assert tuned < untuned / 10, (tuned, untuned)


@glibc
def test_tuning_is_applied_once_and_reported():
    with tf.Graph().as_default(), tf.Session():
        pass
    got = allocator.keep_freed_buffers()
    if os.environ.get("TFNB_KEEP_FREED_BUFFERS", "1") == "0":
        assert got == {}
    else:
        assert got["mmap_threshold"] >= 1 << 20 and got["trim_threshold"] == allocator.TRIM_THRESHOLD
    assert allocator.keep_freed_buffers() is got


def test_switched_off_or_not_glibc_changes_nothing(monkeypatch):
    monkeypatch.setattr(allocator, "_done", None)
    monkeypatch.setenv("TFNB_KEEP_FREED_BUFFERS", "0")
    calls = []
    monkeypatch.setattr(allocator, "_libc", lambda: calls.append(1))
    assert allocator.keep_freed_buffers() == {}
    assert calls == []
    monkeypatch.setattr(allocator, "_done", None)
    monkeypatch.setenv("TFNB_KEEP_FREED_BUFFERS", "1")
    monkeypatch.setattr(allocator, "_libc", lambda: None)
    assert allocator.keep_freed_buffers() == {}


def test_values_are_unchanged_by_buffer_reuse():
    # Arrays reused from the heap hold old bytes: every kernel must write all of its output.
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((64, 300)).astype(np.float32) for _ in range(3)]
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [64, 300])
        y = tf.reduce_sum(tf.nn.relu(x) * 3.0, axis=1) + tf.zeros([64])
        with tf.Session() as sess:
            for _ in range(3):
                for v in xs:
                    np.testing.assert_allclose(sess.run(y, {x: v}),
                                               (np.maximum(v, 0) * 3.0).sum(1), rtol=1e-5)
