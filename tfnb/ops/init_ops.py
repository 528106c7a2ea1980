"""Initializers: objects that build the initial value of a variable from its shape.

An initializer is called as ``init(shape, dtype=None, partition_info=None)`` and
returns a Tensor (``tf.get_variable`` calls it so). The classes carry TF1's
names (``Zeros``, ``VarianceScaling``, ...) and are exported under TF1's lowercase
aliases (``tf.zeros_initializer``, ``tf.variance_scaling_initializer``, ...).
Random initializers create random ops, so they follow the seeding rules of
``tf.set_random_seed``.

Example:
    >>> init = tf.variance_scaling_initializer(scale=2.0, mode="fan_in")
    >>> w = tf.Variable(init([784, 256]))
"""
import math

import numpy as np

from ..framework import dtypes
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import TensorShape
from . import array_ops, core, random_ops
from .shape_rules import FLOATS, check_dtype

__all__ = ["zeros_initializer", "ones_initializer", "constant_initializer",
           "random_uniform_initializer", "random_normal_initializer",
           "truncated_normal_initializer", "uniform_unit_scaling_initializer",
           "variance_scaling_initializer", "glorot_uniform_initializer",
           "glorot_normal_initializer", "orthogonal_initializer", "identity_initializer"]

# std of N(0, 1) truncated to [-2, 2] (scipy.stats.truncnorm.std(-2, 2)), as TF uses it.
_TRUNCATED_STD = 0.87962566103423978


def _dims(shape):
    """A fully known shape as a list of ints (TensorShape, list of ints or Dimensions)."""
    if isinstance(shape, TensorShape):
        if not shape.is_fully_defined():
            raise ValueError("An initializer needs a fully defined shape, got %s" % shape)
        return shape.as_list()
    return [int(d) for d in shape]


def _assert_float_dtype(dtype):
    dtype = dtypes.as_dtype(dtype)
    if not dtype.is_floating:
        raise ValueError("Argument `dtype` is expected to be floating point. Received: %s."
                         % dtype.name)
    return dtype


def _compute_fans(shape):
    """(fan_in, fan_out) of a weight shape; conv kernels count the receptive field."""
    if len(shape) < 1:
        fan_in = fan_out = 1
    elif len(shape) == 1:
        fan_in = fan_out = shape[0]
    elif len(shape) == 2:
        fan_in, fan_out = shape
    else:
        receptive_field = 1
        for d in shape[:-2]:
            receptive_field *= d
        fan_in = shape[-2] * receptive_field
        fan_out = shape[-1] * receptive_field
    return int(fan_in), int(fan_out)


class Initializer:
    """Base class: ``__call__(shape, dtype=None, partition_info=None)`` returns a Tensor."""

    def __call__(self, shape, dtype=None, partition_info=None):
        raise NotImplementedError("%s does not implement __call__" % type(self).__name__)

    def get_config(self):
        """The constructor arguments, JSON-serializable (dtypes by name)."""
        return {}

    @classmethod
    def from_config(cls, config):
        """Rebuilds an initializer from ``get_config()``'s output."""
        return cls(**config)


class Zeros(Initializer):
    """Initializes to zeros (``tf.zeros_initializer``)."""

    def __init__(self, dtype=dtypes.float32):
        self.dtype = dtypes.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        return array_ops.zeros(shape, dtype or self.dtype)

    def get_config(self):
        return {"dtype": self.dtype.name}


class Ones(Initializer):
    """Initializes to ones (``tf.ones_initializer``)."""

    def __init__(self, dtype=dtypes.float32):
        self.dtype = dtypes.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        return array_ops.ones(shape, dtype or self.dtype)

    def get_config(self):
        return {"dtype": self.dtype.name}


class Constant(Initializer):
    """Initializes to a constant (``tf.constant_initializer``).

    A scalar fills the shape. A list or array fills it in row-major order; if it has
    fewer elements than the shape, its last element fills the rest (TF1 behaviour).

    Args:
        value: a Python scalar, a (nested) list or tuple, or a NumPy array.
        dtype: default dtype when the call gives none.
        verify_shape: require ``value``'s shape to equal the requested shape.

    Raises:
        TypeError: ``value`` has an unsupported type.

    Example:
        >>> tf.constant_initializer([1, 2, 3, 4])([2, 2])   # [[1., 2.], [3., 4.]]
    """

    def __init__(self, value=0, dtype=dtypes.float32, verify_shape=False):
        if not (np.isscalar(value) or isinstance(value, (list, tuple, np.ndarray))):
            raise TypeError("Invalid type for initial value=%r of type: %s. Expected Python "
                            "scalar, list or tuple of values, or numpy.ndarray."
                            % (value, type(value).__name__))
        self.value = value
        self.dtype = dtypes.as_dtype(dtype)
        self._verify_shape = verify_shape

    def __call__(self, shape, dtype=None, partition_info=None, verify_shape=None):
        """Returns a Const of ``shape``.

        Raises:
            ValueError: ``value`` has more elements than ``shape``.
            TypeError: ``verify_shape`` is set and the shapes differ, or ``value``
                cannot be represented in ``dtype``.
        """
        dtype = dtypes.as_dtype(dtype or self.dtype)
        verify_shape = self._verify_shape if verify_shape is None else verify_shape
        dims = tuple(_dims(shape))
        arr, dtype = core.to_numpy(self.value, dtype)
        if verify_shape and arr.shape != dims:
            raise TypeError("Expected Tensor's shape: %s, but got %s." % (dims, arr.shape))
        n = int(np.prod(dims))
        flat = arr.reshape(-1)
        if flat.size > n:
            raise ValueError("Too many elements provided. Takes at most %d, but got %d."
                             % (n, flat.size))
        if flat.size == 0:
            flat = np.zeros(1, dtype=arr.dtype)
        if flat.size < n:
            flat = np.concatenate([flat, np.full(n - flat.size, flat[-1], dtype=arr.dtype)])
        return core.constant(flat.reshape(dims), dtype=dtype)

    def get_config(self):
        return {"value": self.value, "dtype": self.dtype.name}


class RandomUniform(Initializer):
    """Uniform on ``[minval, maxval)`` (``tf.random_uniform_initializer``).

    Integer dtypes are allowed (``maxval`` then required).
    """

    def __init__(self, minval=0.0, maxval=None, seed=None, dtype=dtypes.float32):
        self.minval = minval
        self.maxval = maxval
        self.seed = seed
        self.dtype = dtypes.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        return random_ops.random_uniform(shape, self.minval, self.maxval, dtype or self.dtype,
                                         seed=self.seed)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed,
                "dtype": self.dtype.name}


class RandomNormal(Initializer):
    """Normal with ``mean`` and ``stddev`` (``tf.random_normal_initializer``)."""

    def __init__(self, mean=0.0, stddev=1.0, seed=None, dtype=dtypes.float32):
        self.mean = mean
        self.stddev = stddev
        self.seed = seed
        self.dtype = _assert_float_dtype(dtype)

    _sample = staticmethod(random_ops.random_normal)

    def __call__(self, shape, dtype=None, partition_info=None):
        return self._sample(shape, self.mean, self.stddev, dtype or self.dtype, seed=self.seed)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed,
                "dtype": self.dtype.name}


class TruncatedNormal(RandomNormal):
    """Normal redrawn beyond two standard deviations (``tf.truncated_normal_initializer``)."""

    _sample = staticmethod(random_ops.truncated_normal)


class UniformUnitScaling(Initializer):
    """Uniform in ``±factor * sqrt(3 / input_size)`` (``tf.uniform_unit_scaling_initializer``).

    ``input_size`` is the product of all dimensions but the last, so ``x @ W`` keeps
    the scale of ``x``. Deprecated in TF1 in favour of ``variance_scaling_initializer``.
    """

    def __init__(self, factor=1.0, seed=None, dtype=dtypes.float32):
        self.factor = factor
        self.seed = seed
        self.dtype = _assert_float_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        scale_shape = _dims(partition_info.full_shape if partition_info is not None else shape)
        input_size = 1.0
        for d in scale_shape[:-1]:
            input_size *= float(d)
        max_val = math.sqrt(3 / max(input_size, 1.0)) * self.factor
        return random_ops.random_uniform(shape, -max_val, max_val, dtype or self.dtype,
                                         seed=self.seed)

    def get_config(self):
        return {"factor": self.factor, "seed": self.seed, "dtype": self.dtype.name}


class VarianceScaling(Initializer):
    """Samples with variance ``scale / n`` (``tf.variance_scaling_initializer``).

    ``n`` is fan-in, fan-out or their average (``mode``); for conv kernels
    ``[..., in, out]`` the fans include the receptive field size. Distributions:
    ``truncated_normal`` (``normal`` is TF1's alias; the stddev is corrected for the
    truncation), ``untruncated_normal``, and ``uniform`` on ``±sqrt(3 * scale / n)``.

    Raises:
        ValueError: ``scale`` is not positive, or ``mode``/``distribution`` is unknown.

    Example:
        >>> he = tf.variance_scaling_initializer(scale=2.0)   # He et al. for ReLU
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 dtype=dtypes.float32):
        if scale <= 0.0:
            raise ValueError("Argument `scale` must be a positive float. Received: %s" % scale)
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError("Argument `mode` should be one of ('fan_in', 'fan_out', 'fan_avg'). "
                             "Received: %s" % mode)
        distribution = distribution.lower()
        if distribution not in ("normal", "uniform", "truncated_normal", "untruncated_normal"):
            raise ValueError("Argument `distribution` should be one of ('normal', 'uniform', "
                             "'truncated_normal', 'untruncated_normal'). Received: %s"
                             % distribution)
        self.scale = scale
        self.mode = mode
        self.distribution = distribution
        self.seed = seed
        self.dtype = _assert_float_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        dtype = dtype or self.dtype
        fan_in, fan_out = _compute_fans(
            _dims(partition_info.full_shape if partition_info is not None else shape))
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        if self.distribution in ("normal", "truncated_normal"):
            return random_ops.truncated_normal(shape, 0.0, math.sqrt(scale) / _TRUNCATED_STD,
                                               dtype, seed=self.seed)
        if self.distribution == "untruncated_normal":
            return random_ops.random_normal(shape, 0.0, math.sqrt(scale), dtype, seed=self.seed)
        limit = math.sqrt(3.0 * scale)
        return random_ops.random_uniform(shape, -limit, limit, dtype, seed=self.seed)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed, "dtype": self.dtype.name}


class GlorotUniform(VarianceScaling):
    """Glorot/Xavier uniform: ``variance_scaling(1.0, "fan_avg", "uniform")``.

    As in TF1, the constructor's ``dtype`` is ignored (float32 unless the call gives one).
    """

    def __init__(self, seed=None, dtype=dtypes.float32):
        super().__init__(scale=1.0, mode="fan_avg", distribution="uniform", seed=seed)

    def get_config(self):
        return {"seed": self.seed, "dtype": self.dtype.name}


class GlorotNormal(VarianceScaling):
    """Glorot/Xavier normal: ``variance_scaling(1.0, "fan_avg", "truncated_normal")``.

    As in TF1, the constructor's ``dtype`` is ignored (float32 unless the call gives one).
    """

    def __init__(self, seed=None, dtype=dtypes.float32):
        super().__init__(scale=1.0, mode="fan_avg", distribution="truncated_normal", seed=seed)

    def get_config(self):
        return {"seed": self.seed, "dtype": self.dtype.name}


# ----------------------------------------------------------------------------------------------
# Orthogonal: Q of the QR decomposition of a normal matrix, with diag(R) made positive
# ----------------------------------------------------------------------------------------------
def _qr_infer(op):
    a = op._inputs[0]
    check_dtype(op, a, FLOATS, arg="input")
    if a._shape.ndims != 2:
        raise ValueError("SignCorrectedQr needs a matrix, got shape %s" % a._shape)
    m, n = a._shape.as_list()
    k = None if m is None or n is None else min(m, n)
    return [(a.dtype, TensorShape([k, m] if op._attrs["transpose"] else [m, k]))]


def _qr_kernel(op, ctx):
    xp = ctx.xp
    npd = op._inputs[0].dtype.np
    transpose = op._attrs["transpose"]

    def sign_corrected_qr(a):
        q, r = xp.linalg.qr(a.astype(np.float32) if npd == np.float16 else a)
        # Signs of diag(R) make the factorization unique, so Q is uniformly distributed.
        q = q * xp.sign(xp.diagonal(r))
        return (q.T if transpose else q).astype(npd)
    return sign_corrected_qr


register_op("SignCorrectedQr", infer=_qr_infer, kernel=_qr_kernel, grad=NOT_DIFFERENTIABLE,
            doc="Q of the reduced QR of a matrix times sign(diag(R)); optionally transposed.")


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times ``gain`` (``tf.orthogonal_initializer``).

    The shape is flattened to ``[prod(shape[:-1]), shape[-1]]``; the result has
    orthonormal columns (or rows, when there are fewer rows than columns).

    Raises:
        ValueError: the shape has fewer than two dimensions.
    """

    def __init__(self, gain=1.0, seed=None, dtype=dtypes.float32):
        self.gain = gain
        self.dtype = _assert_float_dtype(dtype)
        self.seed = seed

    def __call__(self, shape, dtype=None, partition_info=None):
        dims = _dims(shape)
        if len(dims) < 2:
            raise ValueError("The tensor to initialize, specified by argument `shape` must be at "
                             "least two-dimensional. Received shape=%s" % (dims,))
        num_rows = int(np.prod(dims[:-1]))
        num_cols = dims[-1]
        wide = num_rows < num_cols
        a = random_ops.random_normal((num_cols, num_rows) if wide else (num_rows, num_cols),
                                     dtype=dtype or self.dtype, seed=self.seed)
        q = core.out("SignCorrectedQr", [a], {"transpose": wide})
        return self.gain * array_ops.reshape(q, dims)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed, "dtype": self.dtype.name}


class Identity(Initializer):
    """The identity matrix times ``gain``, for 2-D shapes (``tf.initializers.identity``)."""

    def __init__(self, gain=1.0, dtype=dtypes.float32):
        self.gain = gain
        self.dtype = _assert_float_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        dims = _dims(shape)
        full = _dims(partition_info.full_shape) if partition_info is not None else dims
        if len(full) != 2:
            raise ValueError("The tensor to initialize, specified by argument `shape` must be "
                             "two-dimensional. Received shape=%s" % (dims,))
        value = self.gain * np.eye(*full)
        if partition_info is not None:
            r, c = (int(o) for o in partition_info.var_offset)
            value = value[r:r + dims[0], c:c + dims[1]]
        return core.constant(value, dtype=dtype or self.dtype)

    def get_config(self):
        return {"gain": self.gain, "dtype": self.dtype.name}


zeros_initializer = Zeros
ones_initializer = Ones
constant_initializer = Constant
random_uniform_initializer = RandomUniform
random_normal_initializer = RandomNormal
truncated_normal_initializer = TruncatedNormal
uniform_unit_scaling_initializer = UniformUnitScaling
variance_scaling_initializer = VarianceScaling
glorot_uniform_initializer = GlorotUniform
glorot_normal_initializer = GlorotNormal
orthogonal_initializer = Orthogonal
identity_initializer = Identity
