"""RNN cells, cell wrappers and dynamic_rnn against NumPy references of TF 1.15's math.

Each reference below is one time step written in NumPy from TF 1.15's ``rnn_cell_impl.py``
(and ``contrib/rnn/python/ops/rnn_cell.py`` for ``AttentionCellWrapper``): same gate order
(i, j, f, o for LSTMs; r, u for GRUs), same weight layouts (``kernel`` is
``[input_depth + h_depth, gates * units]``), read from the session by variable name after
every variable (biases and peepholes too) was set to random values. Cells are unrolled with
``static_rnn`` from random initial states and compared step by step in float64. Gradients
w.r.t. inputs, initial states *and weights* (variables replaced by placeholders through a
custom getter) are checked against central differences (tests/gradcheck.py). Dropout is
checked by its statistics (dropped fraction, ``1 / keep_prob`` scaling, which state parts
are dropped, the same mask at every step with ``variational_recurrent``) and exactly, with
the masks read from the graph.
"""
import numpy as np
import pytest

import tfnb as tf
from gradcheck import check_gradients
from tfnb.util import nest

LSTMStateTuple = tf.nn.rnn_cell.LSTMStateTuple


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


# ----------------------------------------------------------------------------------------------
# NumPy references: one step each. ``w`` maps a variable's name relative to the cell's scope
# (e.g. "kernel", "projection/kernel", "gates/bias") to its value.
# ----------------------------------------------------------------------------------------------
def np_basic_rnn(w, x, h, activation=np.tanh):
    out = activation(np.concatenate([x, h], 1) @ w["kernel"] + w["bias"])
    return out, out


def np_basic_lstm(w, x, state, forget_bias=1.0, state_is_tuple=True):
    c, h = state if state_is_tuple else np.split(state, 2, axis=1)
    z = np.concatenate([x, h], 1) @ w["kernel"] + w["bias"]
    i, j, f, o = np.split(z, 4, axis=1)
    new_c = c * _sig(f + forget_bias) + _sig(i) * np.tanh(j)
    new_h = np.tanh(new_c) * _sig(o)
    return new_h, (LSTMStateTuple(new_c, new_h) if state_is_tuple
                   else np.concatenate([new_c, new_h], 1))


def np_lstm(w, x, state, num_units, use_peepholes=False, cell_clip=None, num_proj=None,
            proj_clip=None, forget_bias=1.0, state_is_tuple=True):
    if state_is_tuple:
        c_prev, m_prev = state
    else:
        c_prev, m_prev = state[:, :num_units], state[:, num_units:]
    z = np.concatenate([x, m_prev], 1) @ w["kernel"] + w["bias"]
    i, j, f, o = np.split(z, 4, axis=1)
    if use_peepholes:
        c = (_sig(f + forget_bias + w["w_f_diag"] * c_prev) * c_prev
             + _sig(i + w["w_i_diag"] * c_prev) * np.tanh(j))
    else:
        c = _sig(f + forget_bias) * c_prev + _sig(i) * np.tanh(j)
    if cell_clip is not None:
        c = np.clip(c, -cell_clip, cell_clip)
    if use_peepholes:
        m = _sig(o + w["w_o_diag"] * c) * np.tanh(c)
    else:
        m = _sig(o) * np.tanh(c)
    if num_proj is not None:
        m = m @ w["projection/kernel"]
        if proj_clip is not None:
            m = np.clip(m, -proj_clip, proj_clip)
    return m, (LSTMStateTuple(c, m) if state_is_tuple else np.concatenate([c, m], 1))


def np_gru(w, x, h):
    gates = _sig(np.concatenate([x, h], 1) @ w["gates/kernel"] + w["gates/bias"])
    r, u = np.split(gates, 2, axis=1)
    c = np.tanh(np.concatenate([x, r * h], 1) @ w["candidate/kernel"] + w["candidate/bias"])
    new_h = u * h + (1 - u) * c
    return new_h, new_h


def np_multi(steps, x, state, state_sizes=None):
    """Layer k's output is layer k+1's input; ``state_sizes`` given: concatenated states."""
    if state_sizes is not None:
        state = np.split(state, np.cumsum(state_sizes)[:-1], axis=1)
    new_states = []
    for step, s in zip(steps, state):
        x, ns = step(x, s)
        new_states.append(ns)
    if state_sizes is not None:
        return x, np.concatenate(new_states, 1)
    return x, tuple(new_states)


def np_softmax(s):
    e = np.exp(s - s.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def np_attention_cell(w, cell_step, x, state, attn_length, attn_size, state_is_tuple=True,
                      cell_state_size=None):
    """TF 1.15 contrib AttentionCellWrapper.call; ``cell_step(x, cell_state)`` is the wrapped
    cell (its own weights already bound)."""
    if state_is_tuple:
        cell_state, attns, window = state
    else:
        n = cell_state_size
        cell_state, attns, window = (state[:, :n], state[:, n:n + attn_size],
                                     state[:, n + attn_size:])
    window = window.reshape(-1, attn_length, attn_size)
    x = np.concatenate([x, attns], 1) @ w["kernel"] + w["bias"]
    cell_out, new_cell_state = cell_step(x, cell_state)
    query = np.concatenate(nest.flatten(new_cell_state), 1) if state_is_tuple else new_cell_state
    k = w["attention/attn_w"][0, 0]                       # the 1x1 convolution's matrix
    hidden_features = window @ k                          # [batch, attn_length, attn_vec]
    y = query @ w["attention/kernel"] + w["attention/bias"]
    scores = np.sum(w["attention/attn_v"] * np.tanh(hidden_features + y[:, None, :]), -1)
    a = np_softmax(scores)
    new_attns = np.sum(a[:, :, None] * window, 1)
    out = (np.concatenate([cell_out, new_attns], 1) @ w["attn_output_projection/kernel"]
           + w["attn_output_projection/bias"])
    new_window = np.concatenate([window[:, 1:], out[:, None, :]], 1).reshape(
        -1, attn_length * attn_size)
    if state_is_tuple:
        return out, (new_cell_state, new_attns, new_window)
    return out, np.concatenate([new_cell_state, new_attns, new_window], 1)


# ----------------------------------------------------------------------------------------------
# Helpers: random states, random variables, running a cell and its reference side by side
# ----------------------------------------------------------------------------------------------
def _random_state(size, batch, rng, scale):
    if isinstance(size, int):
        return rng.uniform(-scale, scale, (batch, size))
    vals = [_random_state(s, batch, rng, scale) for s in size]
    return type(size)(*vals) if hasattr(size, "_fields") else type(size)(vals)


def _to_tensors(structure):
    return nest.map_structure(tf.constant, structure)


def _randomize_variables(sess, rng, scale=0.6):
    """Every variable (biases and peepholes included) to uniform [-scale, scale) values."""
    for v in tf.global_variables():
        v.load(rng.uniform(-scale, scale, v.shape.as_list()), sess)


def _weights(values, prefix):
    """{name relative to ``prefix``: value} for the variables under ``prefix``."""
    return {n[len(prefix) + 1:]: val for n, val in values.items() if n.startswith(prefix + "/")}


def _unroll(make_cell, T, B, D, seed, x_scale=1.0, state_scale=1.0, var_scale=0.6):
    """Builds ``static_rnn`` over T random [B, D] inputs from a random initial state; returns
    (inputs, initial state, fetched outputs, fetched final state, {variable name: value})."""
    rng = np.random.RandomState(seed)
    cell = make_cell()
    xs = [rng.uniform(-x_scale, x_scale, (B, D)) for _ in range(T)]
    s0 = _random_state(cell.state_size, B, rng, state_scale)
    outs, final = tf.nn.static_rnn(cell, [tf.constant(x) for x in xs],
                                   initial_state=_to_tensors(s0))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        _randomize_variables(sess, rng, var_scale)
        out_v, final_v, var_v = sess.run(
            [outs, final, {v.op.name: v for v in tf.global_variables()}])
    return cell, xs, s0, out_v, final_v, var_v


def _compare_unrolled(out_v, final_v, xs, s0, step):
    state = s0
    for t, x in enumerate(xs):
        ref_out, state = step(x, state)
        np.testing.assert_allclose(out_v[t], ref_out, rtol=1e-10, atol=1e-12,
                                   err_msg="output at step %d" % t)
    for got, want in zip(nest.flatten(final_v), nest.flatten(state)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, err_msg="final state")
    return state


def _cell_gradcheck(make_cell, T, B, D, seed, state_scale=1.0, var_scale=0.6, rtol=1e-5,
                    atol=1e-6):
    """Checks d(outputs, final state) / d(inputs, initial state, every weight) numerically:
    the cell's variables are replaced by placeholders through a custom getter."""
    rng = np.random.RandomState(seed)
    with tf.Graph().as_default():  # learn the variables' names and shapes
        cell = make_cell()
        with tf.variable_scope("g"):
            tf.nn.static_rnn(cell, [tf.zeros([B, D], tf.float64)] * T, dtype=tf.float64)
        specs = [(v.op.name, v.shape.as_list()) for v in tf.global_variables()]
        state_size = cell.state_size
    n_state = len(nest.flatten(state_size))
    x = rng.uniform(-1, 1, (T, B, D))
    s0 = nest.flatten(_random_state(state_size, B, rng, state_scale))
    ws = [rng.uniform(-var_scale, var_scale, shape) for _, shape in specs]
    names = [n for n, _ in specs]

    def build(x_ph, *rest):
        states, weights = rest[:n_state], rest[n_state:]
        by_name = dict(zip(names, weights))

        def getter(base_getter, name, *args, **kwargs):
            return by_name[base_getter(name, *args, **kwargs).op.name]
        with tf.variable_scope("g", custom_getter=getter):
            outs, final = tf.nn.static_rnn(
                make_cell(), tf.unstack(x_ph), dtype=tf.float64,
                initial_state=nest.pack_sequence_as(state_size, list(states)))
        flat = [tf.reshape(t, [-1]) for t in list(outs) + nest.flatten(final)]
        return tf.concat(flat, 0)
    check_gradients(build, [x] + s0 + ws, rtol=rtol, atol=atol)


# ----------------------------------------------------------------------------------------------
# BasicRNNCell, BasicLSTMCell, LSTMCell, GRUCell
# ----------------------------------------------------------------------------------------------
T_, B_, D_, H_ = 4, 3, 5, 6


@pytest.mark.parametrize("activation", [None, "relu"])
def test_basic_rnn_cell(activation):
    act_tf, act_np = (None, np.tanh) if activation is None else (tf.nn.relu,
                                                                  lambda a: np.maximum(a, 0))
    _, xs, s0, out, final, var = _unroll(lambda: tf.nn.rnn_cell.BasicRNNCell(
        H_, activation=act_tf), T_, B_, D_, seed=1)
    w = _weights(var, "rnn/basic_rnn_cell")
    assert sorted(w) == ["bias", "kernel"] and w["kernel"].shape == (D_ + H_, H_)
    _compare_unrolled(out, final, xs, s0, lambda x, s: np_basic_rnn(w, x, s, act_np))


@pytest.mark.parametrize("state_is_tuple", [True, False], ids=["tuple", "concat"])
def test_basic_lstm_cell(state_is_tuple):
    _, xs, s0, out, final, var = _unroll(lambda: tf.nn.rnn_cell.BasicLSTMCell(
        H_, forget_bias=0.4, state_is_tuple=state_is_tuple), T_, B_, D_, seed=2)
    w = _weights(var, "rnn/basic_lstm_cell")
    assert w["kernel"].shape == (D_ + H_, 4 * H_) and w["bias"].shape == (4 * H_,)
    _compare_unrolled(out, final, xs, s0,
                      lambda x, s: np_basic_lstm(w, x, s, 0.4, state_is_tuple))


LSTM_CONFIGS = {
    "plain": dict(),
    "forget_bias": dict(forget_bias=0.25),
    "peepholes": dict(use_peepholes=True),
    "cell_clip": dict(cell_clip=0.6),
    "peepholes_cell_clip": dict(use_peepholes=True, cell_clip=0.6),
    "num_proj": dict(num_proj=4),
    "num_proj_proj_clip": dict(num_proj=4, proj_clip=0.1),
    "everything_concat_state": dict(use_peepholes=True, cell_clip=0.6, num_proj=4,
                                    proj_clip=0.1, forget_bias=0.5, state_is_tuple=False),
}


@pytest.mark.parametrize("name", list(LSTM_CONFIGS))
def test_lstm_cell(name):
    cfg = LSTM_CONFIGS[name]
    # Large initial cell states and inputs: the clips are active (asserted below).
    _, xs, s0, out, final, var = _unroll(lambda: tf.nn.rnn_cell.LSTMCell(H_, **cfg), T_, B_, D_,
                                         seed=3, x_scale=2.0, state_scale=2.5, var_scale=1.0)
    w = _weights(var, "rnn/lstm_cell")
    h_depth = cfg.get("num_proj") or H_
    expected = {"kernel": (D_ + h_depth, 4 * H_), "bias": (4 * H_,)}
    if cfg.get("use_peepholes"):
        expected.update({"w_f_diag": (H_,), "w_i_diag": (H_,), "w_o_diag": (H_,)})
    if cfg.get("num_proj"):
        expected["projection/kernel"] = (H_, cfg["num_proj"])
    assert {k: v.shape for k, v in w.items()} == expected
    final_ref = _compare_unrolled(out, final, xs, s0, lambda x, s: np_lstm(w, x, s, H_, **cfg))
    c = final_ref.c if cfg.get("state_is_tuple", True) else final_ref[:, :H_]
    if cfg.get("cell_clip"):  # the clip is exercised, not only allowed
        assert np.sum(np.abs(c) == cfg["cell_clip"]) >= 2
    else:
        assert np.max(np.abs(c)) > 0.6
    if cfg.get("proj_clip"):
        assert np.sum(np.abs(np.asarray(out)) == cfg["proj_clip"]) >= 2


def test_gru_cell():
    _, xs, s0, out, final, var = _unroll(lambda: tf.nn.rnn_cell.GRUCell(H_), T_, B_, D_, seed=4)
    w = _weights(var, "rnn/gru_cell")
    assert {k: v.shape for k, v in w.items()} == {
        "gates/kernel": (D_ + H_, 2 * H_), "gates/bias": (2 * H_,),
        "candidate/kernel": (D_ + H_, H_), "candidate/bias": (H_,)}
    _compare_unrolled(out, final, xs, s0, lambda x, s: np_gru(w, x, s))


# ----------------------------------------------------------------------------------------------
# MultiRNNCell, ResidualWrapper, AttentionCellWrapper
# ----------------------------------------------------------------------------------------------
def test_multi_rnn_cell_tuple_state():
    def make():
        return tf.nn.rnn_cell.MultiRNNCell([
            tf.nn.rnn_cell.LSTMCell(H_, use_peepholes=True, num_proj=3),
            tf.nn.rnn_cell.GRUCell(4), tf.nn.rnn_cell.BasicRNNCell(2)])
    _, xs, s0, out, final, var = _unroll(make, T_, B_, D_, seed=5)
    p = "rnn/multi_rnn_cell/cell_%d/"
    w0, w1, w2 = (_weights(var, p % 0 + "lstm_cell"), _weights(var, p % 1 + "gru_cell"),
                  _weights(var, p % 2 + "basic_rnn_cell"))
    assert w1["gates/kernel"].shape == (3 + 4, 8) and w2["kernel"].shape == (4 + 2, 2)
    steps = [lambda x, s: np_lstm(w0, x, s, H_, use_peepholes=True, num_proj=3),
             lambda x, s: np_gru(w1, x, s), lambda x, s: np_basic_rnn(w2, x, s)]
    _compare_unrolled(out, final, xs, s0, lambda x, s: np_multi(steps, x, s))


def test_multi_rnn_cell_concatenated_state():
    def make():
        return tf.nn.rnn_cell.MultiRNNCell([
            tf.nn.rnn_cell.GRUCell(4),
            tf.nn.rnn_cell.LSTMCell(H_, num_proj=3, state_is_tuple=False)],
            state_is_tuple=False)
    cell, xs, s0, out, final, var = _unroll(make, T_, B_, D_, seed=6)
    assert cell.state_size == 4 + H_ + 3 and s0.shape == (B_, 4 + H_ + 3)
    w0 = _weights(var, "rnn/multi_rnn_cell/cell_0/gru_cell")
    w1 = _weights(var, "rnn/multi_rnn_cell/cell_1/lstm_cell")
    steps = [lambda x, s: np_gru(w0, x, s),
             lambda x, s: np_lstm(w1, x, s, H_, num_proj=3, state_is_tuple=False)]
    _compare_unrolled(out, final, xs, s0, lambda x, s: np_multi(steps, x, s, [4, H_ + 3]))


def test_residual_wrapper():
    _, xs, s0, out, final, var = _unroll(
        lambda: tf.nn.rnn_cell.ResidualWrapper(tf.nn.rnn_cell.GRUCell(D_)), T_, B_, D_, seed=7)
    w = _weights(var, "rnn/gru_cell")

    def step(x, s):
        o, ns = np_gru(w, x, s)
        return x + o, ns  # the residual is on the output only; the state is the cell's
    _compare_unrolled(out, final, xs, s0, step)


def test_residual_wrapper_residual_fn_and_shape_mismatch():
    x = tf.constant(np.ones((2, 3)))
    cell = tf.nn.rnn_cell.ResidualWrapper(tf.nn.rnn_cell.BasicRNNCell(3),
                                          residual_fn=lambda i, o: i * 10.0 - o)
    out, st = cell(x, tf.zeros([2, 3], tf.float64))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        o, s = sess.run([out, st])
    np.testing.assert_allclose(o, 10.0 - s)
    bad = tf.nn.rnn_cell.ResidualWrapper(tf.nn.rnn_cell.BasicRNNCell(4))
    with pytest.raises(ValueError, match="incompatible"):
        bad(x, tf.zeros([2, 4], tf.float64))


ATTENTION_CONFIGS = {
    "lstm_tuple": dict(cell="lstm", attn_length=3),
    "sizes_and_input_size": dict(cell="lstm", attn_length=2, attn_size=4, attn_vec_size=5,
                                 input_size=7),
    "gru_concat_state": dict(cell="gru", attn_length=3, state_is_tuple=False),
}


def _attention_cell(cfg):
    cfg = dict(cfg)
    kind = cfg.pop("cell")
    inner = tf.nn.rnn_cell.LSTMCell(H_) if kind == "lstm" else tf.nn.rnn_cell.GRUCell(H_)
    return tf.contrib.rnn.AttentionCellWrapper(inner, **cfg)


@pytest.mark.parametrize("name", list(ATTENTION_CONFIGS))
def test_attention_cell_wrapper(name):
    cfg = ATTENTION_CONFIGS[name]
    cell, xs, s0, out, final, var = _unroll(lambda: _attention_cell(cfg), 5, B_, D_, seed=8)
    attn_size = cfg.get("attn_size", H_)
    vec = cfg.get("attn_vec_size", attn_size)
    input_size = cfg.get("input_size", D_)
    cell_state_depth = 2 * H_ if cfg["cell"] == "lstm" else H_
    w = _weights(var, "rnn/attention_cell_wrapper")
    inner = "lstm_cell" if cfg["cell"] == "lstm" else "gru_cell"
    assert {k: v.shape for k, v in w.items() if not k.startswith(inner)} == {
        "kernel": (D_ + attn_size, input_size), "bias": (input_size,),
        "attention/attn_w": (1, 1, attn_size, vec), "attention/attn_v": (vec,),
        "attention/kernel": (cell_state_depth, vec), "attention/bias": (vec,),
        "attn_output_projection/kernel": (H_ + attn_size, attn_size),
        "attn_output_projection/bias": (attn_size,)}
    w_inner = _weights(w, inner)
    if cfg["cell"] == "lstm":
        def cell_step(x, s):
            return np_lstm(w_inner, x, s, H_)
    else:
        def cell_step(x, s):
            return np_gru(w_inner, x, s)
    state_is_tuple = cfg.get("state_is_tuple", True)
    _compare_unrolled(out, final, xs, s0, lambda x, s: np_attention_cell(
        w, cell_step, x, s, cfg["attn_length"], attn_size, state_is_tuple, H_))


def test_attention_cell_wrapper_bad_arguments():
    with pytest.raises(ValueError, match="attn_length"):
        tf.contrib.rnn.AttentionCellWrapper(tf.nn.rnn_cell.GRUCell(2), attn_length=0)
    with pytest.raises(ValueError, match="state_is_tuple"):
        tf.contrib.rnn.AttentionCellWrapper(tf.nn.rnn_cell.LSTMCell(2), 2, state_is_tuple=False)
    with pytest.raises(TypeError, match="RNNCell"):
        tf.contrib.rnn.AttentionCellWrapper(object(), 2)
    assert not hasattr(tf.nn.rnn_cell, "AttentionCellWrapper")  # contrib only, as in TF1


# ----------------------------------------------------------------------------------------------
# Gradients w.r.t. inputs, initial states and every weight
# ----------------------------------------------------------------------------------------------
GRAD_CELLS = {
    "basic_rnn": lambda: tf.nn.rnn_cell.BasicRNNCell(3),
    "basic_lstm_concat": lambda: tf.nn.rnn_cell.BasicLSTMCell(3, forget_bias=0.3,
                                                              state_is_tuple=False),
    "lstm_peepholes_clip_proj": lambda: tf.nn.rnn_cell.LSTMCell(
        3, use_peepholes=True, cell_clip=0.8, num_proj=2, proj_clip=0.3),
    "gru": lambda: tf.nn.rnn_cell.GRUCell(3),
    "multi": lambda: tf.nn.rnn_cell.MultiRNNCell([tf.nn.rnn_cell.GRUCell(3),
                                                  tf.nn.rnn_cell.LSTMCell(2, use_peepholes=True)]),
    "residual": lambda: tf.nn.rnn_cell.ResidualWrapper(tf.nn.rnn_cell.GRUCell(2)),
    "attention": lambda: tf.contrib.rnn.AttentionCellWrapper(tf.nn.rnn_cell.LSTMCell(2),
                                                             attn_length=2, attn_vec_size=3),
}


@pytest.mark.parametrize("name", list(GRAD_CELLS))
def test_cell_gradients_numerically(name):
    _cell_gradcheck(GRAD_CELLS[name], T=2, B=2, D=2, seed=9, state_scale=1.5, var_scale=0.8)


# ----------------------------------------------------------------------------------------------
# DropoutWrapper
# ----------------------------------------------------------------------------------------------
class EchoCell(tf.nn.rnn_cell.RNNCell):
    """Output = inputs, new state = state: what a wrapper does to either is plain to see."""

    def __init__(self, depth, lstm_state=False):
        super().__init__()
        self._depth, self._lstm_state = depth, lstm_state

    @property
    def state_size(self):
        return LSTMStateTuple(self._depth, self._depth) if self._lstm_state else self._depth

    output_size = property(lambda self: self._depth)

    def call(self, inputs, state):
        return tf.identity(inputs), nest.map_structure(tf.identity, state)


def _assert_dropout_of(got, value, keep_prob, n_sigma=5):
    """``got`` is ``value`` with a fraction ~(1 - keep_prob) of entries zeroed and the rest
    scaled by 1/keep_prob exactly; returns the keep mask."""
    kept = got != 0
    np.testing.assert_allclose(got[kept], value[kept] / keep_prob, rtol=1e-12)
    dropped = 1.0 - kept.mean()
    sigma = np.sqrt(keep_prob * (1 - keep_prob) / got.size)
    assert abs(dropped - (1 - keep_prob)) < n_sigma * sigma, (dropped, 1 - keep_prob)
    return kept


BIG = (50, 80)  # 4,000 entries: the dropped fraction is known to within ~0.7% (1 sigma)


@pytest.mark.parametrize("which", ["input", "output"])
def test_dropout_wrapper_inputs_and_outputs(which):
    x = np.random.RandomState(0).uniform(0.5, 2.0, BIG)
    keep = 0.7 if which == "input" else 0.4
    cell = tf.nn.rnn_cell.DropoutWrapper(EchoCell(BIG[1]), seed=11,
                                         **{which + "_keep_prob": keep})
    out, st = cell(tf.constant(x), tf.zeros(BIG, tf.float64))
    with tf.Session() as sess:
        o, s = sess.run([out, st])
    kept = _assert_dropout_of(o, x, keep)
    assert np.all(s == 0)
    # d out / d x is the mask scaled by 1 / keep_prob (fetched in the same run as the mask)
    xp = tf.placeholder(tf.float64, BIG)
    with tf.variable_scope("again"):
        cell2 = tf.nn.rnn_cell.DropoutWrapper(EchoCell(BIG[1]), seed=12,
                                              **{which + "_keep_prob": keep})
        out2, _ = cell2(xp, tf.zeros(BIG, tf.float64))
    g = tf.gradients(tf.reduce_sum(out2 * 3.0), xp)[0]
    with tf.Session() as sess:
        o2, g2 = sess.run([out2, g], {xp: x})
    np.testing.assert_allclose(g2, 3.0 * (o2 != 0) / keep, rtol=1e-12)
    assert not np.array_equal(o2 != 0, kept)  # another seed, another mask


def test_dropout_wrapper_state_keeps_lstm_memory_by_default():
    rng = np.random.RandomState(1)
    c, h = rng.uniform(0.5, 2.0, BIG), rng.uniform(0.5, 2.0, BIG)
    x = np.zeros(BIG)
    default = tf.nn.rnn_cell.DropoutWrapper(EchoCell(BIG[1], lstm_state=True),
                                            state_keep_prob=0.6, seed=3)
    every = tf.nn.rnn_cell.DropoutWrapper(EchoCell(BIG[1], lstm_state=True), state_keep_prob=0.6,
                                          seed=3, dropout_state_filter_visitor=lambda s: True)
    plain = tf.nn.rnn_cell.DropoutWrapper(EchoCell(BIG[1]), state_keep_prob=0.6, seed=3)
    s0 = LSTMStateTuple(tf.constant(c), tf.constant(h))
    _, st_default = default(tf.constant(x), s0)
    _, st_every = every(tf.constant(x), s0)
    _, st_plain = plain(tf.constant(x), tf.constant(h))
    with tf.Session() as sess:
        d, e, p = sess.run([st_default, st_every, st_plain])
    assert isinstance(d, LSTMStateTuple)
    np.testing.assert_array_equal(d.c, c)  # TF1: the memory c is never dropped
    _assert_dropout_of(d.h, h, 0.6)
    _assert_dropout_of(e.c, c, 0.6)
    _assert_dropout_of(e.h, h, 0.6)
    _assert_dropout_of(p, h, 0.6)


def test_dropout_wrapper_keep_prob_tensor_seeds_and_validation():
    x = np.random.RandomState(2).uniform(0.5, 2.0, BIG)
    keep = tf.placeholder(tf.float64, [])
    cell = tf.nn.rnn_cell.DropoutWrapper(EchoCell(BIG[1]), output_keep_prob=keep, seed=5)
    out, _ = cell(tf.constant(x), tf.zeros(BIG, tf.float64))
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(out, {keep: 1.0}), x)
        first = sess.run(out, {keep: 0.5})
    _assert_dropout_of(first, x, 0.5)
    with tf.Session() as sess:  # a seeded program draws the same masks in a new session
        sess.run(out, {keep: 1.0})
        np.testing.assert_array_equal(sess.run(out, {keep: 0.5}), first)
        second = sess.run(out, {keep: 0.5})
    assert not np.array_equal(second != 0, first != 0)  # each run draws a new mask
    with pytest.raises(ValueError, match="output_keep_prob must be between 0 and 1"):
        tf.nn.rnn_cell.DropoutWrapper(EchoCell(2), output_keep_prob=1.5)
    with pytest.raises(ValueError, match="input_keep_prob must be between 0 and 1"):
        tf.nn.rnn_cell.DropoutWrapper(EchoCell(2), input_keep_prob=tf.constant(-0.1))
    with pytest.raises(ValueError, match="dtype must be provided"):
        tf.nn.rnn_cell.DropoutWrapper(EchoCell(2), variational_recurrent=True)
    with pytest.raises(ValueError, match="input_size must be provided"):
        tf.nn.rnn_cell.DropoutWrapper(EchoCell(2), input_keep_prob=0.5,
                                      variational_recurrent=True, dtype=tf.float32)


def test_dropout_wrapper_on_gru_output_only():
    """Output dropout leaves the recurrence alone: each output is 0 or the reference / keep,
    the final state is the reference's."""
    keep = 0.5

    def make():
        return tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.GRUCell(H_), output_keep_prob=keep,
                                             seed=4)
    _, xs, s0, out, final, var = _unroll(make, T_, 40, D_, seed=10)
    w = _weights(var, "rnn/gru_cell")
    s = s0
    for t, x in enumerate(xs):
        ref, s = np_gru(w, x, s)
        kept = out[t] != 0
        np.testing.assert_allclose(out[t][kept], ref[kept] / keep, rtol=1e-10)
        assert 0.35 < kept.mean() < 0.65
    np.testing.assert_allclose(final, s, rtol=1e-10)


@pytest.mark.parametrize("unroll", ["static_rnn", "dynamic_rnn"])
def test_variational_dropout_same_mask_every_step(unroll):
    T, B, n = 4, 3, 2000
    x = np.random.RandomState(3).uniform(0.5, 2.0, (T, B, n))
    cell = tf.nn.rnn_cell.DropoutWrapper(
        EchoCell(n), input_keep_prob=0.8, output_keep_prob=0.7, variational_recurrent=True,
        input_size=n, dtype=tf.float64, seed=7)
    plain = tf.nn.rnn_cell.DropoutWrapper(EchoCell(n), output_keep_prob=0.7, seed=7)
    if unroll == "static_rnn":
        outs, _ = tf.nn.static_rnn(cell, tf.unstack(tf.constant(x)), dtype=tf.float64)
        outs = tf.stack(outs)
        plain_outs, _ = tf.nn.static_rnn(plain, tf.unstack(tf.constant(x)), dtype=tf.float64,
                                         scope="plain")
        plain_outs = tf.stack(plain_outs)
    else:
        outs, _ = tf.nn.dynamic_rnn(cell, tf.constant(x), dtype=tf.float64, time_major=True)
        plain_outs, _ = tf.nn.dynamic_rnn(plain, tf.constant(x), dtype=tf.float64,
                                          time_major=True, scope="plain")
    with tf.Session() as sess:
        o, p = sess.run([outs, plain_outs])
    mask = o != 0
    assert np.all(mask == mask[:1, :1])  # one mask for every time step and every batch row
    # input and output masks multiply: kept with probability 0.8 * 0.7, scaled by 1 / both
    _assert_dropout_of(o[0, 0], x[0, 0], 0.8 * 0.7)
    np.testing.assert_allclose(o[mask], x[mask] / (0.8 * 0.7), rtol=1e-12)
    # without variational_recurrent, dynamic_rnn draws a new mask at every step
    if unroll == "dynamic_rnn":
        pm = p != 0
        assert not np.array_equal(pm[0], pm[1])
        assert not np.array_equal(pm[0, 0], pm[0, 1])


def test_variational_dropout_lstm_in_dynamic_rnn_matches_reference():
    """Input, state (h only) and output dropout with one mask per run, in a while_loop."""
    T, B, D, H = 5, 4, 3, 6
    rng = np.random.RandomState(12)
    x = rng.uniform(-1, 1, (B, T, D))
    lengths = np.array([5, 2, 0, 4], np.int32)
    keep_in, keep_state, keep_out = 0.8, 0.6, 0.7
    cell = tf.nn.rnn_cell.DropoutWrapper(
        tf.nn.rnn_cell.LSTMCell(H, use_peepholes=True), input_keep_prob=keep_in,
        state_keep_prob=keep_state, output_keep_prob=keep_out, variational_recurrent=True,
        input_size=D, dtype=tf.float64, seed=21)
    s0 = _random_state(cell.state_size, B, rng, 1.0)
    outs, final = tf.nn.dynamic_rnn(cell, tf.constant(x), sequence_length=lengths,
                                    initial_state=_to_tensors(s0))
    # The noise is drawn once per run: read it in the same run to rebuild the masks.
    noise = [cell._input_noise, cell._state_noise.h, cell._output_noise]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        _randomize_variables(sess, rng)
        o, f, nz, var = sess.run([outs, final, noise,
                                  {v.op.name: v for v in tf.global_variables()}])
    m_in, m_state, m_out = [np.floor(k + n) for k, n in zip((keep_in, keep_state, keep_out), nz)]
    assert all(m.shape[0] == 1 and 0 < m.mean() < 1 for m in (m_in, m_state, m_out))
    w = _weights(var, "rnn/lstm_cell")

    def step(x_t, s):
        out, ns = np_lstm(w, x_t / keep_in * m_in, s, H, use_peepholes=True)
        return out / keep_out * m_out, LSTMStateTuple(ns.c, ns.h / keep_state * m_state)
    ref_out, ref_final = np_dynamic_rnn(step, x, s0, lengths, (H,))
    np.testing.assert_allclose(o, ref_out, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(f.c, ref_final.c, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(f.h, ref_final.h, rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------------------------------------
# dynamic_rnn against a NumPy loop (sequence_length, time_major, initial_state)
# ----------------------------------------------------------------------------------------------
def np_dynamic_rnn(step, x, s0, lengths, out_shape, time_major=False):
    """TF1's dynamic_rnn semantics: past an example's length its outputs are zeros and its
    state is carried through; ``x`` is [batch, time, depth] (or time-major)."""
    xb = x.transpose(1, 0, 2) if time_major else x
    B, T = xb.shape[:2]
    lengths = np.full(B, T) if lengths is None else np.asarray(lengths)
    state = s0
    outs = np.zeros((B, T) + tuple(out_shape))
    for t in range(T):
        o, new_state = step(xb[:, t], state)
        live = t < lengths
        outs[live, t] = o[live]
        state = nest.pack_sequence_as(state, [
            np.where(live[:, None], n, s)
            for s, n in zip(nest.flatten(state), nest.flatten(new_state))])
    return (outs.transpose(1, 0, 2) if time_major else outs), state


DYN_CELLS = {
    "lstm_peep_proj": (lambda: tf.nn.rnn_cell.LSTMCell(H_, use_peepholes=True, num_proj=3,
                                                       cell_clip=1.0),
                       lambda w: lambda x, s: np_lstm(_weights(w, "rnn/lstm_cell"), x, s, H_,
                                                      use_peepholes=True, num_proj=3,
                                                      cell_clip=1.0), 3),
    "gru": (lambda: tf.nn.rnn_cell.GRUCell(H_),
            lambda w: lambda x, s: np_gru(_weights(w, "rnn/gru_cell"), x, s), H_),
    "multi_concat": (
        lambda: tf.nn.rnn_cell.MultiRNNCell([tf.nn.rnn_cell.BasicLSTMCell(4, state_is_tuple=False),
                                             tf.nn.rnn_cell.BasicRNNCell(H_)],
                                            state_is_tuple=False),
        lambda w: lambda x, s: np_multi(
            [lambda x_, s_: np_basic_lstm(_weights(w, "rnn/multi_rnn_cell/cell_0/basic_lstm_cell"),
                                          x_, s_, state_is_tuple=False),
             lambda x_, s_: np_basic_rnn(_weights(w, "rnn/multi_rnn_cell/cell_1/basic_rnn_cell"),
                                         x_, s_)], x, s, [8, H_]), H_),
    "attention_gru_concat": (
        lambda: tf.contrib.rnn.AttentionCellWrapper(tf.nn.rnn_cell.GRUCell(4), attn_length=2,
                                                    state_is_tuple=False),
        lambda w: lambda x, s: np_attention_cell(
            _weights(w, "rnn/attention_cell_wrapper"),
            lambda x_, s_: np_gru(_weights(w, "rnn/attention_cell_wrapper/gru_cell"), x_, s_),
            x, s, attn_length=2, attn_size=4, state_is_tuple=False, cell_state_size=4), 4),
}


@pytest.mark.parametrize("kind", list(DYN_CELLS))
@pytest.mark.parametrize("lengths", [None, [5, 0, 3, 1]], ids=["full", "seq_len"])
@pytest.mark.parametrize("time_major", [False, True], ids=["batch_major", "time_major"])
@pytest.mark.parametrize("initial", ["zero", "given"])
def test_dynamic_rnn_matches_numpy_loop(kind, lengths, time_major, initial):
    make, ref_step, out_depth = DYN_CELLS[kind]
    B, T, D = 4, 5, 3
    rng = np.random.RandomState(13)
    x = rng.uniform(-1.5, 1.5, (T, B, D) if time_major else (B, T, D))
    cell = make()
    if initial == "given":
        s0 = _random_state(cell.state_size, B, rng, 1.5)
        kwargs = dict(initial_state=_to_tensors(s0))
    else:
        s0 = nest.map_structure(np.zeros_like, _random_state(cell.state_size, B, rng, 1.0))
        kwargs = dict(dtype=tf.float64)
    seq = tf.placeholder(tf.int32, [None]) if lengths is not None else None
    outs, final = tf.nn.dynamic_rnn(cell, tf.constant(x), sequence_length=seq,
                                    time_major=time_major, **kwargs)
    feed = {seq: lengths} if lengths is not None else None
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        _randomize_variables(sess, rng)
        o, f, var = sess.run([outs, final, {v.op.name: v for v in tf.global_variables()}], feed)
    ref_o, ref_f = np_dynamic_rnn(ref_step(var), x, s0, lengths, (out_depth,), time_major)
    assert o.shape == ref_o.shape
    np.testing.assert_allclose(o, ref_o, rtol=1e-10, atol=1e-12)
    for got, want in zip(nest.flatten(f), nest.flatten(ref_f)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    if lengths is not None:  # a zero-length example keeps its initial state
        for got, init in zip(nest.flatten(f), nest.flatten(s0)):
            np.testing.assert_array_equal(got[1], init[1])


def test_dynamic_rnn_gradients_wrt_weights_inputs_and_state_numerically():
    names_shapes = {}

    def build(x, c0, h0, *ws):
        def getter(base_getter, name, *args, **kwargs):
            v = base_getter(name, *args, **kwargs)
            return dict(zip(sorted(names_shapes), ws))[v.op.name]
        with tf.variable_scope("g", custom_getter=getter):
            cell = tf.nn.rnn_cell.LSTMCell(2, use_peepholes=True, num_proj=2, forget_bias=0.3)
            out, st = tf.nn.dynamic_rnn(cell, x, sequence_length=[3, 1],
                                        initial_state=LSTMStateTuple(c0, h0))
        return tf.concat([tf.reshape(out, [-1]), tf.reshape(st.c, [-1]),
                          tf.reshape(st.h, [-1])], 0)
    with tf.Graph().as_default():
        with tf.variable_scope("g"):
            cell = tf.nn.rnn_cell.LSTMCell(2, use_peepholes=True, num_proj=2, forget_bias=0.3)
            tf.nn.dynamic_rnn(cell, tf.zeros([2, 3, 2], tf.float64), dtype=tf.float64)
        names_shapes.update({v.op.name: v.shape.as_list() for v in tf.global_variables()})
    rng = np.random.RandomState(14)
    ws = [rng.uniform(-0.8, 0.8, names_shapes[n]) for n in sorted(names_shapes)]
    check_gradients(build, [rng.randn(2, 3, 2), rng.randn(2, 2), rng.randn(2, 2)] + ws)
