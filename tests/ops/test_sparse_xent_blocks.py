"""The sparse softmax cross-entropy in row blocks on the intra-op threads gives the same bits."""
import numpy as np
import pytest

import tfnb as tf
from tfnb.ops import nn_ops


@pytest.mark.parametrize("n, k", [(130, 50), (64, 7), (1, 300)])
def test_row_blocks_give_the_same_bits(monkeypatch, n, k):
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((n, k)) * 30).astype(np.float32)
    labels = rng.integers(0, k, n).astype(np.int64)
    out = {}
    for blocked in (False, True):
        monkeypatch.setattr(nn_ops, "_XENT_BLOCKED_ELEMENTS", 0 if blocked else 1 << 62)
        with tf.Graph().as_default():
            logits = tf.constant(x)
            loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
            grad, = tf.gradients(tf.reduce_sum(loss), [logits])
            with tf.Session() as sess:
                out[blocked] = sess.run([loss, grad])
    for a, b in zip(out[False], out[True]):
        assert np.array_equal(a, b)
    m = x.max(axis=1)
    ref = np.log(np.exp(x - m[:, None]).sum(axis=1)) + m - x[np.arange(n), labels]
    np.testing.assert_allclose(out[True][0], ref, rtol=1e-5, atol=1e-5)
