"""The unique candidate samplers' fast paths against the plain ones: the first-occurrence search
(argsort) against np.unique's, the draw loop against the np.unique loop it replaced (same draws,
same try count, several chunks included), and the log-uniform expected counts read from a
log1p(-P) table against the formula, bit for bit (true classes outside the range included)."""
import numpy as np
import pytest

import tfnb as tf
from tfnb.runtime.passes import fusion_codegen
from tfnb.ops import embedding_ops as E


class _Op:
    def __init__(self, **attrs):
        self._attrs = attrs


def _reference_draw_unique(rng, draw, n):
    """The loop as written with np.unique (the implementation before the argsort one)."""
    picked = np.empty(0, np.int64)
    tries = 0
    while picked.size < n:
        need = n - picked.size
        chunk = draw(rng, 2 * need + 8)
        both = np.concatenate([picked, chunk])
        _, first = np.unique(both, return_index=True)
        new = np.sort(first[first >= picked.size])
        if new.size >= need:
            tries += int(new[need - 1]) - picked.size + 1
            new = new[:need]
        else:
            tries += chunk.size
        picked = np.concatenate([picked, both[new]])
    return picked, tries


def test_first_occurrences_match_np_unique():
    rng = np.random.default_rng(0)
    for size, high in [(1, 3), (8, 2), (136, 50), (500, 20000), (300, 5)]:
        a = rng.integers(0, high, size)
        np.testing.assert_array_equal(E._first_occurrences(a),
                                      np.sort(np.unique(a, return_index=True)[1]))


@pytest.mark.parametrize("range_max, n", [(50000, 64), (20, 15), (20, 20), (7, 1), (1000, 300)])
def test_draw_unique_matches_the_np_unique_loop(range_max, n):
    draw, _ = E._log_uniform(_Op(range_max=range_max))
    for seed in range(20):
        a, ta = E._draw_unique(np.random.default_rng(seed), draw, n)
        b, tb = _reference_draw_unique(np.random.default_rng(seed), draw, n)
        np.testing.assert_array_equal(a, b)
        assert ta == tb and len(set(a.tolist())) == n and a.dtype == np.int64


def test_log_uniform_draw_matches_the_inverse_cdf_formula():
    draw, _ = E._log_uniform(_Op(range_max=1000))
    got = draw(np.random.default_rng(5), 300)
    u = np.random.default_rng(5).random(300)
    np.testing.assert_array_equal(got, (np.exp(u * np.log1p(1000)).astype(np.int64) - 1) % 1000)


def test_table_counts_equal_the_formula():
    range_max = 50000
    _, prob = E._log_uniform(_Op(range_max=range_max))
    table = np.log1p(-prob(np.arange(range_max)))
    rng = np.random.default_rng(1)
    for shape in [(64,), (128, 1), (3, 5), (0,)]:
        ids = rng.integers(0, range_max, shape)
        for tries in (65, 90, 1000):
            got = E._counts_from_table(table, ids, tries)
            want = E._expected_count(prob(ids), 64, tries)
            assert got.dtype == np.float32 and got.shape == ids.shape
            np.testing.assert_array_equal(got, want)


def _sampler_outputs(true_classes, range_max, unique, seed=4, runs=3):
    with tf.Graph().as_default():
        outs = tf.nn.log_uniform_candidate_sampler(true_classes, true_classes.shape[1], 6, unique,
                                                   range_max, seed=seed)
        with tf.Session() as sess:
            return [sess.run(outs) for _ in range(runs)]


@pytest.mark.parametrize("true_classes", [np.array([[0, 3], [2, 9]]),
                                          np.array([[5, 12], [-3, 1]]),      # outside the range
                                          np.array([[0, 40], [9, 8]])])
def test_sampler_counts_with_and_without_the_table(monkeypatch, true_classes):
    with_table = _sampler_outputs(true_classes, 10, True)
    monkeypatch.setattr(E, "LOG_UNIFORM_TABLE_MAX", 0)
    without = _sampler_outputs(true_classes, 10, True)
    for a, b in zip(with_table, without):
        for x, y in zip(a, b):
            assert x.dtype == y.dtype
            np.testing.assert_array_equal(x, y)
    _, prob = E._log_uniform(_Op(range_max=10))
    used_table = False
    for sampled, true_count, sampled_count in with_table:
        # the try count that explains the sampled counts, then the true counts must follow it
        tries = [t for t in range(6, 400)
                 if np.array_equal(E._expected_count(prob(sampled), 6, t), sampled_count)]
        assert tries
        used_table |= tries[0] != 6
        np.testing.assert_array_equal(true_count,
                                      E._expected_count(prob(true_classes), 6, tries[0]))
    assert used_table


@pytest.mark.parametrize("range_max, n", [(50000, 64), (20, 15), (20, 20), (7, 1), (1000, 300)])
def test_numba_first_distinct_draws_as_the_sort(range_max, n):
    if E._sparse_kernels() is None:
        pytest.skip("numba unavailable")
    draw, _ = E._log_uniform(_Op(range_max=range_max))
    slot = np.full(range_max, 12345, np.int32)   # any content: it is a sparse set
    for seed in range(20):
        a, ta = E._draw_unique(np.random.default_rng(seed), draw, n, slot)
        b, tb = _reference_draw_unique(np.random.default_rng(seed), draw, n)
        np.testing.assert_array_equal(a, b)
        assert ta == tb


def test_first_distinct_kernel_stops_at_n():
    nk = E._sparse_kernels()
    if nk is None:
        pytest.skip("numba unavailable")
    slot = np.zeros(10, np.int32)
    values = np.array([3, 3, 0, 3, 9, 0, 4, 1], np.int64)
    m, pos = nk.first_distinct(values, 3, slot)
    assert m == 3 and pos[:m].tolist() == [0, 2, 4]
    m, pos = nk.first_distinct(values, 8, slot)
    assert m == 5 and pos[:m].tolist() == [0, 2, 4, 6, 7]


@pytest.mark.parametrize("mode", ["numba", "no_numba", "kernels_missing"])
def test_sampler_op_same_draws_with_or_without_numba(monkeypatch, mode):
    true_classes = np.array([[0, 3], [2, 9]])
    if E._sparse_kernels() is None:
        pytest.skip("numba unavailable")
    want = _sampler_outputs(true_classes, 30, True, runs=4)
    if mode == "no_numba":
        monkeypatch.setattr(E, "USE_NUMBA", False)
    elif mode == "kernels_missing":
        monkeypatch.setitem(fusion_codegen._modules, "sparse_kernels.py", False)
    got = _sampler_outputs(true_classes, 30, True, runs=4)
    for a, b in zip(want, got):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
