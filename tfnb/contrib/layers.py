"""``tf.contrib.layers``: the initializers, regularizers and layer helpers TF1 notebooks use."""
import numbers

from ..framework import dtypes
from ..framework.graph import GraphKeys, get_default_graph, name_scope
from ..layers import layers as _layers
from ..ops import init_ops, math_ops, nn_ops
from ..ops.core import convert_to_tensor

__all__ = ["xavier_initializer", "xavier_initializer_conv2d", "variance_scaling_initializer",
           "l1_regularizer", "l2_regularizer", "l1_l2_regularizer", "sum_regularizer",
           "apply_regularization", "fully_connected", "conv2d", "max_pool2d", "avg_pool2d",
           "flatten", "dropout"]


def xavier_initializer(uniform=True, seed=None, dtype=dtypes.float32):
    """Glorot initialization: variance 2 / (fan_in + fan_out)."""
    return init_ops.variance_scaling_initializer(
        scale=1.0, mode="fan_avg", distribution="uniform" if uniform else "truncated_normal",
        seed=seed, dtype=dtype)


xavier_initializer_conv2d = xavier_initializer


def variance_scaling_initializer(factor=2.0, mode="FAN_IN", uniform=False, seed=None,
                                 dtype=dtypes.float32):
    """The contrib flavour (He et al. by default): stddev sqrt(factor / n) for n by ``mode``."""
    if mode not in ("FAN_IN", "FAN_OUT", "FAN_AVG"):
        raise TypeError("Unknown mode %s [FAN_IN, FAN_OUT, FAN_AVG]" % mode)
    return init_ops.variance_scaling_initializer(
        scale=factor, mode=mode.lower(), distribution="uniform" if uniform else "truncated_normal",
        seed=seed, dtype=dtype)


def _check_scale(scale):
    if isinstance(scale, numbers.Integral):
        raise ValueError("scale cannot be an integer: %s" % scale)
    if isinstance(scale, numbers.Real):
        if scale < 0.0:
            raise ValueError("Setting a scale less than 0 on a regularizer: %g" % scale)
        return scale != 0.0
    return True


def l1_regularizer(scale, scope=None):
    """``scale * sum(|w|)``."""
    if not _check_scale(scale):
        return lambda _: None

    def l1(weights):
        with name_scope(scope, "l1_regularizer", [weights]) as name:
            w = convert_to_tensor(weights)
            return math_ops.multiply(convert_to_tensor(scale, dtype=w.dtype),
                                     math_ops.reduce_sum(math_ops.abs(w)), name=name)
    return l1


def l2_regularizer(scale, scope=None):
    """``scale * sum(w**2) / 2`` (``tf.nn.l2_loss``)."""
    if not _check_scale(scale):
        return lambda _: None

    def l2(weights):
        with name_scope(scope, "l2_regularizer", [weights]) as name:
            w = convert_to_tensor(weights)
            return math_ops.multiply(convert_to_tensor(scale, dtype=w.dtype),
                                     nn_ops.l2_loss(w), name=name)
    return l2


def sum_regularizer(regularizer_list, scope=None):
    regs = [r for r in regularizer_list if r is not None]

    def summed(weights):
        terms = [t for t in (r(weights) for r in regs) if t is not None]
        return math_ops.add_n(terms) if terms else None
    return summed


def l1_l2_regularizer(scale_l1=1.0, scale_l2=1.0, scope=None):
    return sum_regularizer([l1_regularizer(scale_l1), l2_regularizer(scale_l2)], scope)


def apply_regularization(regularizer, weights_list=None):
    """Sums ``regularizer(w)`` over ``weights_list`` (default: the WEIGHTS collection)."""
    if weights_list is None:
        weights_list = get_default_graph().get_collection(GraphKeys.WEIGHTS)
    if not weights_list:
        raise ValueError("No weights to regularize.")
    terms = [t for t in (regularizer(w) for w in weights_list) if t is not None]
    if not terms:
        raise ValueError("No regularization terms (all scales are 0?)")
    total = math_ops.add_n(terms)
    get_default_graph().add_to_collection(GraphKeys.REGULARIZATION_LOSSES, total)
    return total


def fully_connected(inputs, num_outputs, activation_fn=nn_ops.relu, normalizer_fn=None,
                    normalizer_params=None, weights_initializer=None, weights_regularizer=None,
                    biases_initializer=None, biases_regularizer=None, reuse=None,
                    variables_collections=None, outputs_collections=None, trainable=True,
                    scope=None):
    """A dense layer with ReLU by default; ``biases_initializer=None`` keeps zeros as TF1 does."""
    layer = _layers.Dense(num_outputs, activation=None,
                          use_bias=normalizer_fn is None,
                          kernel_initializer=weights_initializer or xavier_initializer(),
                          bias_initializer=biases_initializer,
                          kernel_regularizer=weights_regularizer,
                          bias_regularizer=biases_regularizer, trainable=trainable,
                          name=scope or "fully_connected", _reuse=reuse)
    y = layer(inputs)
    get_default_graph().add_to_collection(GraphKeys.WEIGHTS, layer.kernel)
    if layer.bias is not None:
        get_default_graph().add_to_collection(GraphKeys.BIASES, layer.bias)
    if normalizer_fn is not None:
        y = normalizer_fn(y, **(normalizer_params or {}))
    return activation_fn(y) if activation_fn is not None else y


def conv2d(inputs, num_outputs, kernel_size, stride=1, padding="SAME", data_format=None, rate=1,
           activation_fn=nn_ops.relu, weights_initializer=None, weights_regularizer=None,
           biases_initializer=None, biases_regularizer=None, reuse=None, trainable=True,
           scope=None, **kwargs):
    layer = _layers.Conv2D(num_outputs, kernel_size, stride, padding,
                           "channels_first" if data_format == "NCHW" else "channels_last", rate,
                           kernel_initializer=weights_initializer or xavier_initializer(),
                           bias_initializer=biases_initializer,
                           kernel_regularizer=weights_regularizer,
                           bias_regularizer=biases_regularizer, trainable=trainable,
                           name=scope or "Conv", _reuse=reuse)
    y = layer(inputs)
    get_default_graph().add_to_collection(GraphKeys.WEIGHTS, layer.kernel)
    return activation_fn(y) if activation_fn is not None else y


def max_pool2d(inputs, kernel_size, stride=2, padding="VALID", data_format="NHWC", scope=None):
    return _layers.max_pooling2d(inputs, kernel_size, stride, padding,
                                 "channels_first" if data_format == "NCHW" else "channels_last",
                                 name=scope)


def avg_pool2d(inputs, kernel_size, stride=2, padding="VALID", data_format="NHWC", scope=None):
    return _layers.average_pooling2d(inputs, kernel_size, stride, padding,
                                     "channels_first" if data_format == "NCHW" else "channels_last",
                                     name=scope)


def flatten(inputs, outputs_collections=None, scope=None):
    return _layers.flatten(inputs, name=scope)


def dropout(inputs, keep_prob=0.5, noise_shape=None, is_training=True, outputs_collections=None,
            scope=None, seed=None):
    return _layers.dropout(inputs, rate=1.0 - keep_prob, noise_shape=noise_shape, seed=seed,
                           training=is_training, name=scope)

