"""Recurrent cells (``tf.nn.rnn_cell`` / ``tf.contrib.rnn``): one time step of an RNN.

A cell maps ``(inputs, state) -> (output, new_state)``. Its variables are created
with ``get_variable`` the first time it is called, inside
``variable_scope(scope or <cell name>)``, and reused by every later call -- so
unrolling a cell over time (``static_rnn``) shares one set of weights, with TF1's
variable names (``rnn/basic_lstm_cell/kernel``...).
"""
import collections

from ..framework import dtypes
from ..framework.graph import Tensor
from . import array_ops, math_ops, nn_ops
from .core import convert_to_tensor
from .variable_scope import get_variable, variable_scope

__all__ = ["RNNCell", "BasicRNNCell", "BasicLSTMCell", "LSTMCell", "GRUCell", "MultiRNNCell",
           "DropoutWrapper", "ResidualWrapper", "LSTMStateTuple"]


class LSTMStateTuple(collections.namedtuple("LSTMStateTuple", ("c", "h"))):
    """The (cell state, hidden output) pair an LSTM carries between steps."""

    __slots__ = ()

    @property
    def dtype(self):
        if self.c.dtype is not self.h.dtype:
            raise TypeError("Inconsistent internal state: %s vs %s" % (self.c.dtype, self.h.dtype))
        return self.c.dtype


def _flatten(state):
    if isinstance(state, (list, tuple)):
        out = []
        for s in state:
            out.extend(_flatten(s))
        return out
    return [state]


def _zeros_for(size, batch_size, dtype):
    if isinstance(size, (list, tuple)):
        vals = [_zeros_for(s, batch_size, dtype) for s in size]
        return type(size)(*vals) if hasattr(size, "_fields") else type(size)(vals)
    return array_ops.zeros([batch_size, size], dtype=dtype)


class RNNCell:
    """Base class: subclasses define ``state_size``, ``output_size``, ``build`` and ``call``."""

    _default_name = "rnn_cell"

    def __init__(self, reuse=None, name=None, dtype=None):
        self._reuse = reuse
        self._name = name
        self._dtype = dtypes.as_dtype(dtype) if dtype is not None else None
        self._built = False
        self._scope = None
        self._variables = []

    @property
    def state_size(self):
        raise NotImplementedError

    @property
    def output_size(self):
        raise NotImplementedError

    @property
    def trainable_variables(self):
        return list(self._variables)

    variables = trainable_variables
    weights = trainable_variables

    def zero_state(self, batch_size, dtype):
        """All-zero initial state(s) for a batch (``batch_size`` may be a scalar tensor)."""
        return _zeros_for(self.state_size, batch_size, dtype)

    def _add_variable(self, name, shape, dtype, initializer=None):
        v = get_variable(name, shape, dtype=dtype, initializer=initializer)
        self._variables.append(v)
        return v

    def __call__(self, inputs, state, scope=None):
        inputs = convert_to_tensor(inputs)
        if not self._built:
            # Unnamed cells get unique scopes (basic_lstm_cell, basic_lstm_cell_1, ...) as in TF1.
            with variable_scope(scope if scope is not None else self._name,
                                default_name=self._default_name, reuse=self._reuse) as vs:
                self._scope = vs
                self.build(inputs.shape, inputs.dtype)
            self._built = True
        with variable_scope(self._scope, reuse=True):
            return self.call(inputs, state)

    def build(self, inputs_shape, dtype):
        pass

    def call(self, inputs, state):
        raise NotImplementedError


def _input_depth(cell, shape):
    d = shape.as_tuple()
    if d is None or d[-1] is None:
        raise ValueError("Expected inputs.shape[-1] to be known for %s, saw shape: %s"
                         % (type(cell).__name__, shape))
    return d[-1]


def _linear(x, kernel, bias):
    return nn_ops.bias_add(math_ops.matmul(x, kernel), bias)


class BasicRNNCell(RNNCell):
    """``output = new_state = activation(W [x, h] + b)`` (tanh by default)."""

    _default_name = "basic_rnn_cell"

    def __init__(self, num_units, activation=None, reuse=None, name=None, dtype=None):
        super().__init__(reuse, name, dtype)
        self._num_units = num_units
        self._activation = activation or math_ops.tanh

    state_size = property(lambda self: self._num_units)
    output_size = property(lambda self: self._num_units)

    def build(self, inputs_shape, dtype):
        from .init_ops import zeros_initializer
        depth = _input_depth(self, inputs_shape)
        self._kernel = self._add_variable("kernel", [depth + self._num_units, self._num_units], dtype)
        self._bias = self._add_variable("bias", [self._num_units], dtype, zeros_initializer())

    def call(self, inputs, state):
        out = self._activation(_linear(array_ops.concat([inputs, state], 1), self._kernel, self._bias))
        return out, out


class BasicLSTMCell(RNNCell):
    """The LSTM of Zaremba et al.: gates i, j, f, o from one matmul; ``forget_bias`` added to f."""

    _default_name = "basic_lstm_cell"

    def __init__(self, num_units, forget_bias=1.0, state_is_tuple=True, activation=None,
                 reuse=None, name=None, dtype=None):
        super().__init__(reuse, name, dtype)
        self._num_units = num_units
        self._forget_bias = forget_bias
        self._state_is_tuple = state_is_tuple
        self._activation = activation or math_ops.tanh

    @property
    def state_size(self):
        n = self._num_units
        return LSTMStateTuple(n, n) if self._state_is_tuple else 2 * n

    output_size = property(lambda self: self._num_units)

    def build(self, inputs_shape, dtype):
        from .init_ops import zeros_initializer
        depth = _input_depth(self, inputs_shape)
        n = self._num_units
        self._kernel = self._add_variable("kernel", [depth + n, 4 * n], dtype)
        self._bias = self._add_variable("bias", [4 * n], dtype, zeros_initializer())

    def call(self, inputs, state):
        if self._state_is_tuple:
            c, h = state
        else:
            c, h = array_ops.split(state, 2, axis=1)
        z = _linear(array_ops.concat([inputs, h], 1), self._kernel, self._bias)
        i, j, f, o = array_ops.split(z, 4, axis=1)
        sig = math_ops.sigmoid
        new_c = c * sig(f + self._forget_bias) + sig(i) * self._activation(j)
        new_h = self._activation(new_c) * sig(o)
        new_state = LSTMStateTuple(new_c, new_h) if self._state_is_tuple else \
            array_ops.concat([new_c, new_h], 1)
        return new_h, new_state


class LSTMCell(RNNCell):
    """LSTM with optional peepholes, cell clipping and an output projection (Sak et al. 2014)."""

    _default_name = "lstm_cell"

    def __init__(self, num_units, use_peepholes=False, cell_clip=None, initializer=None,
                 num_proj=None, proj_clip=None, num_unit_shards=None, num_proj_shards=None,
                 forget_bias=1.0, state_is_tuple=True, activation=None, reuse=None, name=None,
                 dtype=None):
        super().__init__(reuse, name, dtype)
        self._num_units = num_units
        self._use_peepholes = use_peepholes
        self._cell_clip = cell_clip
        self._initializer = initializer
        self._num_proj = num_proj
        self._proj_clip = proj_clip
        self._forget_bias = forget_bias
        self._state_is_tuple = state_is_tuple
        self._activation = activation or math_ops.tanh

    @property
    def state_size(self):
        h = self._num_proj or self._num_units
        return LSTMStateTuple(self._num_units, h) if self._state_is_tuple else self._num_units + h

    @property
    def output_size(self):
        return self._num_proj or self._num_units

    def build(self, inputs_shape, dtype):
        from .init_ops import zeros_initializer
        depth = _input_depth(self, inputs_shape)
        n = self._num_units
        h = self._num_proj or n
        self._kernel = self._add_variable("kernel", [depth + h, 4 * n], dtype, self._initializer)
        self._bias = self._add_variable("bias", [4 * n], dtype, zeros_initializer())
        if self._use_peepholes:
            self._w_f = self._add_variable("w_f_diag", [n], dtype, self._initializer)
            self._w_i = self._add_variable("w_i_diag", [n], dtype, self._initializer)
            self._w_o = self._add_variable("w_o_diag", [n], dtype, self._initializer)
        if self._num_proj is not None:
            with variable_scope("projection"):
                self._proj = self._add_variable("kernel", [n, self._num_proj], dtype,
                                                self._initializer)

    def call(self, inputs, state):
        n = self._num_units
        if self._state_is_tuple:
            c_prev, m_prev = state
        else:
            c_prev = state[:, :n]
            m_prev = state[:, n:]
        z = _linear(array_ops.concat([inputs, m_prev], 1), self._kernel, self._bias)
        i, j, f, o = array_ops.split(z, 4, axis=1)
        sig = math_ops.sigmoid
        if self._use_peepholes:
            c = sig(f + self._forget_bias + self._w_f * c_prev) * c_prev + \
                sig(i + self._w_i * c_prev) * self._activation(j)
        else:
            c = sig(f + self._forget_bias) * c_prev + sig(i) * self._activation(j)
        if self._cell_clip is not None:
            c = math_ops.clip_by_value(c, -self._cell_clip, self._cell_clip)
        if self._use_peepholes:
            m = sig(o + self._w_o * c) * self._activation(c)
        else:
            m = sig(o) * self._activation(c)
        if self._num_proj is not None:
            m = math_ops.matmul(m, self._proj)
            if self._proj_clip is not None:
                m = math_ops.clip_by_value(m, -self._proj_clip, self._proj_clip)
        new_state = LSTMStateTuple(c, m) if self._state_is_tuple else array_ops.concat([c, m], 1)
        return m, new_state


class GRUCell(RNNCell):
    """Gated recurrent unit (Cho et al. 2014); gate biases start at 1.0 as in TF1."""

    _default_name = "gru_cell"

    def __init__(self, num_units, activation=None, reuse=None, kernel_initializer=None,
                 bias_initializer=None, name=None, dtype=None):
        super().__init__(reuse, name, dtype)
        self._num_units = num_units
        self._activation = activation or math_ops.tanh
        self._kernel_initializer = kernel_initializer
        self._bias_initializer = bias_initializer

    state_size = property(lambda self: self._num_units)
    output_size = property(lambda self: self._num_units)

    def build(self, inputs_shape, dtype):
        from .init_ops import constant_initializer, zeros_initializer
        depth = _input_depth(self, inputs_shape)
        n = self._num_units
        with variable_scope("gates"):
            self._gate_kernel = self._add_variable("kernel", [depth + n, 2 * n], dtype,
                                                   self._kernel_initializer)
            self._gate_bias = self._add_variable(
                "bias", [2 * n], dtype, self._bias_initializer or constant_initializer(1.0))
        with variable_scope("candidate"):
            self._cand_kernel = self._add_variable("kernel", [depth + n, n], dtype,
                                                   self._kernel_initializer)
            self._cand_bias = self._add_variable("bias", [n], dtype,
                                                 self._bias_initializer or zeros_initializer())

    def call(self, inputs, state):
        gates = math_ops.sigmoid(_linear(array_ops.concat([inputs, state], 1), self._gate_kernel,
                                         self._gate_bias))
        r, u = array_ops.split(gates, 2, axis=1)
        c = self._activation(_linear(array_ops.concat([inputs, r * state], 1), self._cand_kernel,
                                     self._cand_bias))
        new_h = u * state + (1 - u) * c
        return new_h, new_h


class MultiRNNCell(RNNCell):
    """Stacks cells: the output of layer k is the input of layer k+1 (scopes ``cell_k``)."""

    def __init__(self, cells, state_is_tuple=True):
        super().__init__()
        if not cells:
            raise ValueError("Must specify at least one cell for MultiRNNCell.")
        self._cells = list(cells)
        self._state_is_tuple = state_is_tuple

    @property
    def state_size(self):
        sizes = tuple(c.state_size for c in self._cells)
        return sizes if self._state_is_tuple else sum(_flatten(list(sizes)))

    @property
    def output_size(self):
        return self._cells[-1].output_size

    @property
    def trainable_variables(self):
        return [v for c in self._cells for v in c.trainable_variables]

    def zero_state(self, batch_size, dtype):
        if self._state_is_tuple:
            return tuple(c.zero_state(batch_size, dtype) for c in self._cells)
        return super().zero_state(batch_size, dtype)

    def __call__(self, inputs, state, scope=None):
        with variable_scope(scope or "multi_rnn_cell"):
            cur = inputs
            new_states = []
            offset = 0
            for i, cell in enumerate(self._cells):
                with variable_scope("cell_%d" % i):
                    if self._state_is_tuple:
                        s = state[i]
                    else:
                        size = sum(_flatten([cell.state_size]))
                        s = state[:, offset:offset + size]
                        offset += size
                    cur, ns = cell(cur, s)
                    new_states.append(ns)
        if self._state_is_tuple:
            return cur, tuple(new_states)
        return cur, array_ops.concat(_flatten(new_states), 1)


class _Wrapper(RNNCell):
    def __init__(self, cell):
        super().__init__()
        self._cell = cell

    state_size = property(lambda self: self._cell.state_size)
    output_size = property(lambda self: self._cell.output_size)
    trainable_variables = property(lambda self: self._cell.trainable_variables)

    def zero_state(self, batch_size, dtype):
        return self._cell.zero_state(batch_size, dtype)


class DropoutWrapper(_Wrapper):
    """Applies dropout to a cell's inputs, outputs and/or state (keep probabilities)."""

    def __init__(self, cell, input_keep_prob=1.0, output_keep_prob=1.0, state_keep_prob=1.0,
                 variational_recurrent=False, input_size=None, dtype=None, seed=None,
                 dropout_state_filter_visitor=None):
        super().__init__(cell)
        if variational_recurrent:
            raise NotImplementedError("variational_recurrent dropout is not supported yet")
        self._in, self._out, self._st = input_keep_prob, output_keep_prob, state_keep_prob
        self._seed = seed

    @staticmethod
    def _keep_all(p):
        return not isinstance(p, Tensor) and float(p) == 1.0

    def _drop(self, x, p, salt):
        from .nn_ops import dropout
        seed = None if self._seed is None else self._seed + salt
        return dropout(x, keep_prob=p, seed=seed)

    def __call__(self, inputs, state, scope=None):
        if not self._keep_all(self._in):
            inputs = self._drop(inputs, self._in, 0)
        out, new_state = self._cell(inputs, state, scope)
        if not self._keep_all(self._st):
            flat = [self._drop(s, self._st, 1 + i) for i, s in enumerate(_flatten(new_state))]
            new_state = _pack_like(new_state, flat)
        if not self._keep_all(self._out):
            out = self._drop(out, self._out, 100)
        return out, new_state


def _pack_like(structure, flat):
    it = iter(flat)

    def rebuild(s):
        if isinstance(s, (list, tuple)):
            vals = [rebuild(x) for x in s]
            return type(s)(*vals) if hasattr(s, "_fields") else type(s)(vals)
        return next(it)
    return rebuild(structure)


class ResidualWrapper(_Wrapper):
    """``output = inputs + cell(inputs)`` (or ``residual_fn(inputs, output)``)."""

    def __init__(self, cell, residual_fn=None):
        super().__init__(cell)
        self._residual_fn = residual_fn

    def __call__(self, inputs, state, scope=None):
        out, new_state = self._cell(inputs, state, scope)
        if self._residual_fn is not None:
            return self._residual_fn(inputs, out), new_state
        return convert_to_tensor(inputs) + out, new_state
