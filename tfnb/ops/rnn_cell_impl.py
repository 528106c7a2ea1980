"""Recurrent cells (``tf.nn.rnn_cell`` / ``tf.contrib.rnn``): one time step of an RNN.

A cell maps ``(inputs, state) -> (output, new_state)``. Its variables are created
with ``get_variable`` the first time it is called, inside
``variable_scope(scope or <cell name>)``, and reused by every later call -- so
unrolling a cell over time (``static_rnn``) shares one set of weights, with TF1's
variable names (``rnn/basic_lstm_cell/kernel``...).
"""
import collections
import hashlib
import re

from ..framework import dtypes
from ..framework.graph import Tensor
from ..framework.tensor_shape import as_shape
from ..util import nest
from . import array_ops, math_ops, nn_ops
from .core import constant_value, convert_to_tensor
from .variable_scope import get_variable, reenter_with_original_name_scope, variable_scope

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


def _to_snake_case(name):
    """A class name as TF1 names a layer's scope: ``MyCell`` -> ``my_cell``."""
    words = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    snake = re.sub(r"([a-z])([A-Z])", r"\1_\2", words).lower()
    return snake if snake[0] != "_" else "private" + snake


class RNNCell:
    """Base class: subclasses define ``state_size``, ``output_size``, ``build`` and ``call``.

    As TF1's cell (a layer), the first call opens the cell's variable scope (its ``name``,
    else the class name in snake case, made unique: ``rnn/my_cell``), runs ``build`` and then
    ``call`` there with the reuse flag the scope inherits, so ``call`` may create variables
    (``get_variable``, ``tf.layers``); every later call re-enters that scope with
    ``reuse=True`` and shares them. Trainable variables made in the scope are tracked in
    ``trainable_variables``.

    Example:
        >>> class MyCell(tf.nn.rnn_cell.RNNCell):
        ...     state_size = output_size = property(lambda self: 4)
        ...     def call(self, inputs, state):
        ...         w = tf.get_variable("w", [inputs.shape[1].value + 4, 4])
        ...         out = tf.tanh(tf.matmul(tf.concat([inputs, state], 1), w))
        ...         return out, out
        >>> outputs, state = tf.nn.static_rnn(MyCell(), xs, dtype=tf.float32)  # rnn/my_cell/w
    """

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

    @property
    def _default_name(self):
        return _to_snake_case(type(self).__name__)

    def _add_variable(self, name, shape, dtype, initializer=None):
        return get_variable(name, shape, dtype=dtype, initializer=initializer)

    def _track_variable(self, getter, name, *args, **kwargs):
        """Custom getter of the cell's scope: remembers the trainable variables made or reused
        there (its own, its layers', wrapped cells'), as TF1's ``_rnn_get_variable``; what an
        outer custom getter returns instead of a variable (a tensor) is kept too."""
        v = getter(name, *args, **kwargs)
        if getattr(v, "trainable", True) and not any(v is w for w in self._variables):
            self._variables.append(v)
        return v

    def __call__(self, inputs, state, scope=None):
        inputs = convert_to_tensor(inputs)
        if self._built:
            with reenter_with_original_name_scope(self._scope, reuse=True):
                return self.call(inputs, state)
        # Unnamed cells get unique scopes (basic_lstm_cell, basic_lstm_cell_1, ...) as in TF1;
        # an unnamed reusing cell takes its default name as is.
        with variable_scope(_scope_name(scope, self), default_name=self._default_name,
                            reuse=self._reuse, custom_getter=self._track_variable) as vs:
            self._scope = vs
            self.build(inputs.shape, inputs.dtype)
            self._built = True  # as a TF1 layer: built before its first call runs
            return self.call(inputs, state)

    def build(self, inputs_shape, dtype):
        pass

    def call(self, inputs, state):
        raise NotImplementedError


def _scope_name(scope, cell):
    """The scope name a cell's first call opens (None: its default name, made unique)."""
    if scope is not None:
        return scope
    if cell._name is None and cell._reuse:
        return cell._default_name  # variable_scope(None, reuse=True) is an error in TF1
    return cell._name


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


def _default_dropout_state_filter_visitor(substate):
    """TF1's default: never drop the memory ``c`` of an LSTM state, drop everything else."""
    if isinstance(substate, LSTMStateTuple):
        return LSTMStateTuple(c=False, h=True)
    return True


def _traverse_shallow(visitor, structure):
    """The part of ``structure`` that dropout traverses: ``visitor(s)`` says, for each level,
    True (all of it), False (none of it) or a depth-1 structure of bools (which members);
    TF1's ``nest.get_traverse_shallow_structure``."""
    choice = visitor(structure)
    if not isinstance(structure, (list, tuple)):
        if not isinstance(choice, bool):
            raise TypeError("dropout_state_filter_visitor returned %r for a tensor; expected a "
                            "bool" % (choice,))
        return choice
    if isinstance(choice, bool):
        if not choice:
            return False
        members = [_traverse_shallow(visitor, s) for s in structure]
    else:
        if not isinstance(choice, (list, tuple)) or len(choice) != len(structure):
            raise TypeError("dropout_state_filter_visitor returned %r for %r; expected a bool or "
                            "a structure of bools like it" % (choice, structure))
        members = [_traverse_shallow(visitor, s) if c else False
                   for c, s in zip(choice, structure)]
    return type(structure)(*members) if hasattr(structure, "_fields") else type(structure)(members)


def _map_up_to(shallow, fn, *structures):
    """``fn(index, shallow_leaf, *subtrees)`` for each leaf of ``shallow`` (enumerated in order),
    each of ``structures`` cut at the depth of ``shallow``; rebuilt like ``shallow``."""
    counter = [0]

    def visit(s, subs):
        if isinstance(s, (list, tuple)):
            vals = [visit(s_k, [sub[k] for sub in subs]) for k, s_k in enumerate(s)]
            return type(s)(*vals) if hasattr(s, "_fields") else type(s)(vals)
        counter[0] += 1
        return fn(counter[0] - 1, s, *subs)
    return visit(shallow, list(structures))


class DropoutWrapper(_Wrapper):
    """Applies dropout to a cell's inputs, outputs and/or new state (TF1's ``DropoutWrapper``).

    Each kept value is scaled by ``1 / keep_prob``. By default the memory ``c`` of an
    ``LSTMStateTuple`` is never dropped (``dropout_state_filter_visitor`` changes that).
    With ``variational_recurrent=True`` the noise ops (shape ``[1, size]``) are made with the
    wrapper, outside any loop, so every time step of a run and every batch row uses the same
    mask (Gal & Ghahramani 2016); then ``dtype`` is required, and ``input_size`` too when
    inputs are dropped.

    Example:
        >>> cell = tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.LSTMCell(64),
        ...                                      output_keep_prob=0.5, seed=1)
    """

    def __init__(self, cell, input_keep_prob=1.0, output_keep_prob=1.0, state_keep_prob=1.0,
                 variational_recurrent=False, input_size=None, dtype=None, seed=None,
                 dropout_state_filter_visitor=None):
        super().__init__(cell)
        if dropout_state_filter_visitor is not None and not callable(dropout_state_filter_visitor):
            raise TypeError("dropout_state_filter_visitor must be callable")
        self._state_filter = dropout_state_filter_visitor or _default_dropout_state_filter_visitor
        probs = []
        for p, attr in [(input_keep_prob, "input_keep_prob"), (state_keep_prob, "state_keep_prob"),
                        (output_keep_prob, "output_keep_prob")]:
            const = constant_value(p) if isinstance(p, Tensor) else p
            if const is None:
                probs.append(p)
                continue
            const = float(const)
            if not 0.0 <= const <= 1.0:
                raise ValueError("Parameter %s must be between 0 and 1: %g" % (attr, const))
            probs.append(const)
        self._in, self._st, self._out = probs
        self._variational = variational_recurrent
        self._seed = seed
        self._input_noise = self._state_noise = self._output_noise = None
        if variational_recurrent:
            if dtype is None:
                raise ValueError("When variational_recurrent=True, dtype must be provided")
            if self._should_drop(self._in):
                if input_size is None:
                    raise ValueError("When variational_recurrent=True and input_keep_prob < 1.0 "
                                     "or is unknown, input_size must be provided")
                self._input_noise = self._batch_noise(input_size, "input", dtype)
            self._state_noise = self._batch_noise(cell.state_size, "state", dtype)
            self._output_noise = self._batch_noise(cell.output_size, "output", dtype)

    @staticmethod
    def _should_drop(p):
        return not isinstance(p, float) or p < 1.0

    def _gen_seed(self, salt_prefix, index):
        """TF1's per-tensor op seed: a hash of the wrapper's seed, the role and the index."""
        if self._seed is None:
            return None
        text = ("%s%s_%d" % (self._seed, salt_prefix, index)).encode("utf-8")
        return int(hashlib.md5(text).hexdigest()[:8], 16) & 0x7FFFFFFF

    def _batch_noise(self, sizes, salt_prefix, dtype):
        """Uniform [0, 1) noise of shape [1, size] for each size in ``sizes`` (a structure)."""
        from .random_ops import random_uniform

        def noise(i, size):
            shape = [1] + ([size] if isinstance(size, int) else as_shape(size).as_list())
            return random_uniform(shape, seed=self._gen_seed(salt_prefix, i), dtype=dtype)
        return _map_up_to(sizes, lambda i, s, size: noise(i, size), sizes)

    def _dropout(self, values, salt_prefix, noise, keep_prob, shallow=None):
        from .nn_ops import dropout
        shallow = values if shallow is None else shallow

        def drop(i, do_drop, v, n=None):
            if isinstance(do_drop, bool) and not do_drop:
                return v
            if not self._variational:
                return dropout(v, rate=1.0 - keep_prob, seed=self._gen_seed(salt_prefix, i))
            # keep_prob + U[0, 1) is in [1, 1 + keep_prob) -- floor 1 -- with probability keep_prob
            v = convert_to_tensor(v)
            kept = math_ops.floor(keep_prob + n)
            out = math_ops.divide(v, keep_prob) * kept
            out.set_shape(v.shape)
            return out
        if self._variational:
            return _map_up_to(shallow, drop, values, noise)
        return _map_up_to(shallow, drop, values)

    def __call__(self, inputs, state, scope=None):
        if self._should_drop(self._in):
            inputs = self._dropout(inputs, "input", self._input_noise, self._in)
        out, new_state = self._cell(inputs, state, scope)
        if self._should_drop(self._st):
            shallow = _traverse_shallow(self._state_filter, new_state)
            new_state = self._dropout(new_state, "state", self._state_noise, self._st, shallow)
        if self._should_drop(self._out):
            out = self._dropout(out, "output", self._output_noise, self._out)
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
    """``output = inputs + cell(inputs)`` per member of a (nested) output, or
    ``residual_fn(inputs, output)``."""

    def __init__(self, cell, residual_fn=None):
        super().__init__(cell)
        self._residual_fn = residual_fn

    def __call__(self, inputs, state, scope=None):
        out, new_state = self._cell(inputs, state, scope)
        if self._residual_fn is not None:
            return self._residual_fn(inputs, out), new_state
        nest.assert_same_structure(inputs, out)

        def add(inp, o):
            inp, o = convert_to_tensor(inp), convert_to_tensor(o)
            if not inp.shape.is_compatible_with(o.shape):
                raise ValueError("ResidualWrapper: the cell's input shape %s and output shape %s "
                                 "are incompatible" % (inp.shape, o.shape))
            return inp + o
        return nest.map_structure(add, inputs, out), new_state


class AttentionCellWrapper(RNNCell):
    """``tf.contrib.rnn.AttentionCellWrapper``: a cell that attends over its last
    ``attn_length`` outputs (Cheng et al. 2016, https://arxiv.org/abs/1601.06733).

    The state is ``(cell_state, attns, attn_states)``: the wrapped cell's state, the last
    attention read [batch, attn_size] and the window of past outputs
    [batch, attn_length * attn_size]. Each step mixes the input with ``attns``
    (``kernel``/``bias``), runs the cell, scores the window against the new cell state
    (``attention/attn_w``, ``attention/attn_v``, ``attention/kernel``...), projects
    ``[cell_output, new_attns]`` to the output (``attn_output_projection/...``), and shifts the
    output into the window. Variables and their shapes are TF1's.
    """

    _default_name = "attention_cell_wrapper"

    def __init__(self, cell, attn_length, attn_size=None, attn_vec_size=None, input_size=None,
                 state_is_tuple=True, reuse=None):
        super().__init__(reuse)
        if not isinstance(cell, RNNCell):
            raise TypeError("The parameter cell is not RNNCell.")
        if isinstance(cell.state_size, (list, tuple)) and not state_is_tuple:
            raise ValueError("Cell returns tuple of states, but the flag state_is_tuple is not "
                             "set. State size is: %s" % str(cell.state_size))
        if attn_length <= 0:
            raise ValueError("attn_length should be greater than zero, got %s" % str(attn_length))
        self._cell = cell
        self._attn_length = attn_length
        self._attn_size = cell.output_size if attn_size is None else attn_size
        self._attn_vec_size = self._attn_size if attn_vec_size is None else attn_vec_size
        self._input_size = input_size
        self._state_is_tuple = state_is_tuple

    @property
    def state_size(self):
        size = (self._cell.state_size, self._attn_size, self._attn_size * self._attn_length)
        return size if self._state_is_tuple else sum(size)

    output_size = property(lambda self: self._attn_size)

    @property
    def trainable_variables(self):
        return list(self._variables) + self._cell.trainable_variables

    def __call__(self, inputs, state, scope=None):
        inputs = convert_to_tensor(inputs)
        if self._scope is None:  # variables are made on the first call, as TF1's _Linear does
            ctx = variable_scope(_scope_name(scope, self), default_name=self._default_name,
                                 reuse=self._reuse)
        else:
            ctx = reenter_with_original_name_scope(self._scope, reuse=True)
        with ctx as vs:
            self._scope = vs
            return self.call(inputs, state)

    def _get(self, name, shape, dtype, initializer=None):
        v = get_variable(name, shape, dtype=dtype, initializer=initializer)
        if not any(v is w for w in self._variables):
            self._variables.append(v)
        return v

    def _linear(self, args, output_size, dtype):
        """TF1's ``_Linear``: ``concat(args, 1) @ kernel + bias`` in the current scope."""
        from .init_ops import zeros_initializer
        depth = sum(_input_depth(self, a.shape) for a in args)
        kernel = self._get("kernel", [depth, output_size], dtype)
        bias = self._get("bias", [output_size], dtype, zeros_initializer())
        x = args[0] if len(args) == 1 else array_ops.concat(list(args), 1)
        return _linear(x, kernel, bias)

    def call(self, inputs, state):
        n_attn, n_len = self._attn_size, self._attn_length
        if self._state_is_tuple:
            cell_state, attns, attn_states = state
        else:
            n_cell = self._cell.state_size
            cell_state = state[:, :n_cell]
            attns = state[:, n_cell:n_cell + n_attn]
            attn_states = state[:, n_cell + n_attn:n_cell + n_attn + n_attn * n_len]
        attn_states = array_ops.reshape(attn_states, [-1, n_len, n_attn])
        dtype = inputs.dtype
        input_size = self._input_size
        if input_size is None:
            input_size = _input_depth(self, inputs.shape)
        inputs = self._linear([inputs, attns], input_size, dtype)
        cell_output, new_cell_state = self._cell(inputs, cell_state)
        if self._state_is_tuple:
            query = array_ops.concat(_flatten(new_cell_state), 1)
        else:
            query = new_cell_state
        new_attns, window = self._attention(query, attn_states, dtype)
        with variable_scope("attn_output_projection"):
            output = self._linear([cell_output, new_attns], n_attn, dtype)
        window = array_ops.concat([window, array_ops.expand_dims(output, 1)], 1)
        window = array_ops.reshape(window, [-1, n_len * n_attn])
        new_state = (new_cell_state, new_attns, window)
        if not self._state_is_tuple:
            new_state = array_ops.concat(list(new_state), 1)
        return output, new_state

    def _attention(self, query, attn_states, dtype):
        """Scores each window entry h_j with ``v . tanh(W h_j + U query)``; returns the softmax-
        weighted sum of the window and the window without its oldest entry."""
        n_attn, n_len, n_vec = self._attn_size, self._attn_length, self._attn_vec_size
        with variable_scope("attention"):
            k = self._get("attn_w", [1, 1, n_attn, n_vec], dtype)
            v = self._get("attn_v", [n_vec], dtype)
            # TF1 applies k as a 1x1 convolution over [batch, attn_length, 1, attn_size]: a matmul.
            hidden_features = array_ops.reshape(
                math_ops.matmul(array_ops.reshape(attn_states, [-1, n_attn]),
                                array_ops.reshape(k, [n_attn, n_vec])), [-1, n_len, n_vec])
            y = array_ops.reshape(self._linear([query], n_vec, dtype), [-1, 1, n_vec])
            scores = math_ops.reduce_sum(v * math_ops.tanh(hidden_features + y), [2])
            weights = nn_ops.softmax(scores)
            new_attns = math_ops.reduce_sum(array_ops.expand_dims(weights, 2) * attn_states, [1])
            return new_attns, attn_states[:, 1:, :]
