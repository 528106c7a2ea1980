"""``tf.layers``: dense, conv2d, pooling, dropout, batch normalization, flatten.

Thin wrappers over tfnb ops. A layer object creates its variables with
``get_variable`` on its first call, inside a variable scope named after the layer
and made unique the TF1 way (``dense``, ``dense_1``, ... or the given ``name``),
so ``tf.layers.dense(x, 10, name="fc", reuse=True)`` shares weights as in TF1.
"""
from ..framework import dtypes
from ..framework.graph import GraphKeys, Tensor, get_default_graph
from ..ops import array_ops, math_ops, nn_ops
from ..ops.core import convert_to_tensor
from ..ops.variable_scope import (get_variable, reenter_with_original_name_scope,
                                  variable_scope)

__all__ = ["Layer", "Dense", "Conv2D", "MaxPooling2D", "AveragePooling2D", "Dropout",
           "BatchNormalization", "Flatten", "dense", "conv2d", "max_pooling2d", "average_pooling2d",
           "dropout", "batch_normalization", "flatten"]


class Layer:
    """Base class: ``build(input_shape)`` makes variables once; ``call(inputs)`` computes."""

    _base_name = "layer"

    def __init__(self, trainable=True, name=None, dtype=None, _reuse=None, **kwargs):
        self.trainable = trainable
        self._name = name
        self._reuse = _reuse
        self.dtype = None if dtype is None else dtypes.as_dtype(dtype)
        self._built = False
        self._scope = None
        self._trainable_weights = []
        self._non_trainable_weights = []
        self._losses = []
        self._updates = []

    @property
    def name(self):
        return self._scope.name if self._scope is not None else (self._name or self._base_name)

    @property
    def trainable_variables(self):
        return list(self._trainable_weights) if self.trainable else []

    trainable_weights = trainable_variables

    @property
    def non_trainable_variables(self):
        extra = [] if self.trainable else list(self._trainable_weights)
        return extra + list(self._non_trainable_weights)

    @property
    def variables(self):
        return list(self._trainable_weights) + list(self._non_trainable_weights)

    weights = variables

    @property
    def losses(self):
        return list(self._losses)

    @property
    def updates(self):
        return list(self._updates)

    def add_variable(self, name, shape, dtype=None, initializer=None, regularizer=None,
                     trainable=True, constraint=None):
        trainable = trainable and self.trainable
        collections = [GraphKeys.GLOBAL_VARIABLES] + (
            [] if trainable else [GraphKeys.MOVING_AVERAGE_VARIABLES])
        v = get_variable(name, shape, dtype=dtype or self.dtype or dtypes.float32,
                         initializer=initializer, trainable=trainable, constraint=constraint,
                         collections=collections if not trainable else None)
        (self._trainable_weights if trainable else self._non_trainable_weights).append(v)
        if regularizer is not None:
            with get_default_graph().name_scope(v.op.name + "/Regularizer/"):
                loss = regularizer(v)
            if loss is not None:
                self._losses.append(loss)
                get_default_graph().add_to_collection(GraphKeys.REGULARIZATION_LOSSES, loss)
        return v

    add_weight = add_variable

    def __call__(self, inputs, *args, **kwargs):
        if self._scope is None:
            # As TF1's Layer._set_scope: a reusing layer captures its base name as is.
            name = self._name if self._name is not None or not self._reuse else self._base_name
            with variable_scope(name, default_name=self._base_name) as vs:
                self._scope = vs
        with reenter_with_original_name_scope(self._scope,
                                              reuse=True if self._built else self._reuse):
            if not self._built:
                x = inputs if not isinstance(inputs, (list, tuple)) else inputs[0]
                x = convert_to_tensor(x)
                if self.dtype is None:
                    self.dtype = x.dtype
                self.build(x.shape)
                self._built = True
            return self.call(inputs, *args, **kwargs)

    apply = __call__

    def build(self, input_shape):
        pass

    def call(self, inputs, **kwargs):
        return inputs


def _last_dim(layer, shape):
    d = shape.as_tuple()
    if d is None or d[-1] is None:
        raise ValueError("The last dimension of the inputs to `%s` should be defined. Found "
                         "`None`." % type(layer).__name__)
    return d[-1]


class Dense(Layer):
    """``activation(inputs @ kernel + bias)``; inputs of rank > 2 are contracted on the last axis."""

    _base_name = "dense"

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer=None,
                 bias_initializer=None, kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 trainable=True, name=None, **kwargs):
        super().__init__(trainable=trainable, name=name, **kwargs)
        self.units = int(units)
        self.activation = activation
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = kernel_regularizer
        self.bias_regularizer = bias_regularizer
        self.activity_regularizer = activity_regularizer

    def build(self, input_shape):
        from ..ops.init_ops import zeros_initializer
        self.kernel = self.add_variable("kernel", [_last_dim(self, input_shape), self.units],
                                        initializer=self.kernel_initializer,
                                        regularizer=self.kernel_regularizer)
        self.bias = self.add_variable("bias", [self.units],
                                      initializer=self.bias_initializer or zeros_initializer(),
                                      regularizer=self.bias_regularizer) if self.use_bias else None

    def call(self, inputs):
        x = convert_to_tensor(inputs)
        if x.shape.ndims is not None and x.shape.ndims > 2:
            y = math_ops.tensordot(x, self.kernel, [[x.shape.ndims - 1], [0]])
        else:
            y = math_ops.matmul(x, self.kernel)
        if self.bias is not None:
            y = nn_ops.bias_add(y, self.bias)
        if self.activation is not None:
            y = self.activation(y)
        if self.activity_regularizer is not None:
            self._losses.append(self.activity_regularizer(y))
        return y


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _tf_format(data_format):
    return "NHWC" if data_format in (None, "channels_last") else "NCHW"


class Conv2D(Layer):
    """2-D convolution layer; kernel [kh, kw, in_channels, filters]."""

    _base_name = "conv2d"

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 data_format="channels_last", dilation_rate=(1, 1), activation=None, use_bias=True,
                 kernel_initializer=None, bias_initializer=None, kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, trainable=True, name=None, **kwargs):
        super().__init__(trainable=trainable, name=name, **kwargs)
        self.filters = int(filters)
        self.kernel_size = _pair(kernel_size)
        self.strides = _pair(strides)
        self.padding = padding.upper()
        self.data_format = _tf_format(data_format)
        self.dilation_rate = _pair(dilation_rate)
        self.activation = activation
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = kernel_regularizer
        self.bias_regularizer = bias_regularizer

    def build(self, input_shape):
        from ..ops.init_ops import zeros_initializer
        d = input_shape.as_tuple()
        c = d[-1] if self.data_format == "NHWC" else d[1]
        if c is None:
            raise ValueError("The channel dimension of the inputs should be defined. Found `None`.")
        self.kernel = self.add_variable("kernel", list(self.kernel_size) + [c, self.filters],
                                        initializer=self.kernel_initializer,
                                        regularizer=self.kernel_regularizer)
        self.bias = self.add_variable("bias", [self.filters],
                                      initializer=self.bias_initializer or zeros_initializer(),
                                      regularizer=self.bias_regularizer) if self.use_bias else None

    def call(self, inputs):
        if self.data_format == "NHWC":
            strides = [1, self.strides[0], self.strides[1], 1]
            dil = [1, self.dilation_rate[0], self.dilation_rate[1], 1]
        else:
            strides = [1, 1, self.strides[0], self.strides[1]]
            dil = [1, 1, self.dilation_rate[0], self.dilation_rate[1]]
        y = nn_ops_conv().conv2d(inputs, self.kernel, strides, self.padding,
                                 data_format=self.data_format, dilations=dil)
        if self.bias is not None:
            y = nn_ops.bias_add(y, self.bias, data_format=self.data_format)
        return self.activation(y) if self.activation is not None else y


def nn_ops_conv():
    from ..ops import conv_ops
    return conv_ops


class _Pooling2D(Layer):
    _pool = None

    def __init__(self, pool_size, strides, padding="valid", data_format="channels_last",
                 name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.pool_size = _pair(pool_size)
        self.strides = _pair(strides)
        self.padding = padding.upper()
        self.data_format = _tf_format(data_format)

    def call(self, inputs):
        if self.data_format == "NHWC":
            k, s = [1, *self.pool_size, 1], [1, *self.strides, 1]
        else:
            k, s = [1, 1, *self.pool_size], [1, 1, *self.strides]
        return getattr(nn_ops_conv(), self._pool)(inputs, k, s, self.padding,
                                                  data_format=self.data_format)


class MaxPooling2D(_Pooling2D):
    _base_name = "max_pooling2d"
    _pool = "max_pool"


class AveragePooling2D(_Pooling2D):
    _base_name = "average_pooling2d"
    _pool = "avg_pool"


def _training_select(training, when_training, when_inference):
    """Picks by a Python bool now, or by a bool tensor at run time."""
    if isinstance(training, Tensor) or hasattr(training, "_dense_tensor"):
        t = convert_to_tensor(training)
        a, b = when_training(), when_inference()
        return math_ops.where(array_ops.fill(array_ops.shape(a), t), a, b)
    return when_training() if training else when_inference()


class Dropout(Layer):
    """Drops a fraction ``rate`` of units when ``training`` (a bool or bool tensor)."""

    _base_name = "dropout"

    def __init__(self, rate=0.5, noise_shape=None, seed=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.rate = rate
        self.noise_shape = noise_shape
        self.seed = seed

    def call(self, inputs, training=False):
        x = convert_to_tensor(inputs)
        return _training_select(
            training, lambda: nn_ops.dropout(x, rate=self.rate, noise_shape=self.noise_shape,
                                             seed=self.seed), lambda: array_ops.identity(x))


class BatchNormalization(Layer):
    """Normalizes by batch statistics when training (updating moving averages through
    ``UPDATE_OPS``), by the moving averages otherwise."""

    _base_name = "batch_normalization"

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer=None, gamma_initializer=None, moving_mean_initializer=None,
                 moving_variance_initializer=None, beta_regularizer=None, gamma_regularizer=None,
                 trainable=True, name=None, **kwargs):
        super().__init__(trainable=trainable, name=name, **kwargs)
        self.axis = axis
        self.momentum = momentum
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        self.inits = (beta_initializer, gamma_initializer, moving_mean_initializer,
                      moving_variance_initializer)
        self.regs = (beta_regularizer, gamma_regularizer)

    def build(self, input_shape):
        from ..ops.init_ops import ones_initializer, zeros_initializer
        rank = input_shape.ndims
        self._axis = self.axis % rank
        n = input_shape.as_tuple()[self._axis]
        if n is None:
            raise ValueError("Axis %d of input tensor should have a defined dimension" % self.axis)
        beta_i, gamma_i, mm_i, mv_i = self.inits
        self.beta = self.add_variable("beta", [n], initializer=beta_i or zeros_initializer(),
                                      regularizer=self.regs[0]) if self.center else None
        self.gamma = self.add_variable("gamma", [n], initializer=gamma_i or ones_initializer(),
                                       regularizer=self.regs[1]) if self.scale else None
        self.moving_mean = self.add_variable("moving_mean", [n], initializer=mm_i or
                                             zeros_initializer(), trainable=False)
        self.moving_variance = self.add_variable("moving_variance", [n], initializer=mv_i or
                                                 ones_initializer(), trainable=False)

    def call(self, inputs, training=False):
        x = convert_to_tensor(inputs)
        rank = x.shape.ndims
        axes = [i for i in range(rank) if i != self._axis]
        bshape = [1] * rank
        bshape[self._axis] = -1

        def reshape(v):
            return None if v is None else array_ops.reshape(v, bshape)

        def normalize(mean, var):
            return nn_ops.batch_normalization(x, reshape(mean), reshape(var), reshape(self.beta),
                                              reshape(self.gamma), self.epsilon)

        def train_branch():
            mean, var = nn_ops.moments(x, axes)
            m = 1.0 - self.momentum
            upd_mean = self.moving_mean.assign_sub((self.moving_mean - mean) * m)
            upd_var = self.moving_variance.assign_sub((self.moving_variance - var) * m)
            for u in (upd_mean, upd_var):
                self._updates.append(u.op)
                get_default_graph().add_to_collection(GraphKeys.UPDATE_OPS, u.op)
            return normalize(mean, var)

        def infer_branch():
            return normalize(self.moving_mean.value(), self.moving_variance.value())
        return _training_select(training, train_branch, infer_branch)


class Flatten(Layer):
    """Flattens all but the batch dimension."""

    _base_name = "flatten"

    def call(self, inputs):
        x = convert_to_tensor(inputs)
        d = x.shape.as_tuple()
        if d is not None and None not in d[1:]:
            n = 1
            for v in d[1:]:
                n *= v
            return array_ops.reshape(x, [-1, n])
        return array_ops.reshape(x, array_ops.stack([array_ops.shape(x)[0], -1]))


def dense(inputs, units, activation=None, use_bias=True, kernel_initializer=None,
          bias_initializer=None, kernel_regularizer=None, bias_regularizer=None,
          activity_regularizer=None, kernel_constraint=None, bias_constraint=None, trainable=True,
          name=None, reuse=None):
    """Functional form of :class:`Dense`."""
    return Dense(units, activation, use_bias, kernel_initializer, bias_initializer,
                 kernel_regularizer, bias_regularizer, activity_regularizer, trainable=trainable,
                 name=name, _reuse=reuse)(inputs)


def conv2d(inputs, filters, kernel_size, strides=(1, 1), padding="valid",
           data_format="channels_last", dilation_rate=(1, 1), activation=None, use_bias=True,
           kernel_initializer=None, bias_initializer=None, kernel_regularizer=None,
           bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
           bias_constraint=None, trainable=True, name=None, reuse=None):
    return Conv2D(filters, kernel_size, strides, padding, data_format, dilation_rate, activation,
                  use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                  bias_regularizer, trainable=trainable, name=name, _reuse=reuse)(inputs)


def max_pooling2d(inputs, pool_size, strides, padding="valid", data_format="channels_last",
                  name=None):
    return MaxPooling2D(pool_size, strides, padding, data_format, name=name)(inputs)


def average_pooling2d(inputs, pool_size, strides, padding="valid", data_format="channels_last",
                      name=None):
    return AveragePooling2D(pool_size, strides, padding, data_format, name=name)(inputs)


def dropout(inputs, rate=0.5, noise_shape=None, seed=None, training=False, name=None):
    return Dropout(rate, noise_shape, seed, name=name)(inputs, training=training)


def batch_normalization(inputs, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                        beta_initializer=None, gamma_initializer=None,
                        moving_mean_initializer=None, moving_variance_initializer=None,
                        beta_regularizer=None, gamma_regularizer=None, training=False,
                        trainable=True, name=None, reuse=None, **kwargs):
    return BatchNormalization(axis, momentum, epsilon, center, scale, beta_initializer,
                              gamma_initializer, moving_mean_initializer,
                              moving_variance_initializer, beta_regularizer, gamma_regularizer,
                              trainable=trainable, name=name, _reuse=reuse)(inputs, training=training)


def flatten(inputs, name=None, data_format="channels_last"):
    return Flatten(name=name)(inputs)
