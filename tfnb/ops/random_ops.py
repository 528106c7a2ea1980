"""Random ops: normal, truncated normal, uniform, shuffle, multinomial, gamma, Poisson.

Seeds follow TF1 (``get_seed``): a graph-level seed (``tf.set_random_seed``) and an
op-level ``seed`` argument together give each op a pair ``(seed, seed2)``, stored as
attrs of the op. Both zero means "nondeterministic".

Random ops are *stateful*: each op owns one generator per session (a NumPy
``PCG64`` kept in the session state under ``("rng", op.name)``), which advances on
every run. So two runs of the same op give different samples, a new session
restarts the stream, and a seeded program gives the same numbers in every
process. Samples are drawn on the host and copied to the device, so a seeded
program also gives the same numbers on CPU and GPU.

Distribution parameters (``mean``, ``stddev``, ``minval``, ``maxval``, ``beta``)
are applied with ordinary math ops, as in TF, so gradients flow to them; the
sampling ops themselves are not differentiable.

Example:
    >>> tf.set_random_seed(1)
    >>> w = tf.Variable(tf.truncated_normal([784, 10], stddev=0.1))
"""
import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import Tensor, get_default_graph, name_scope
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import Dimension, TensorShape
from . import core, math_ops
from .core import convert_to_tensor
from .shape_rules import FLOATS, INDEX, broadcast_shape, check_dtype

__all__ = ["set_random_seed", "get_seed", "random_normal", "truncated_normal", "random_uniform",
           "random_shuffle", "multinomial", "categorical", "random_gamma", "random_poisson"]

#: The graph-level seed used when only an op-level seed is given (TF1's value).
DEFAULT_GRAPH_SEED = 87654321
_MAXINT32 = 2 ** 31 - 1
_UNIFORM_DTYPES = FLOATS | INDEX
_POISSON_DTYPES = FLOATS | INDEX


# ----------------------------------------------------------------------------------------------
# Seeds
# ----------------------------------------------------------------------------------------------
def set_random_seed(seed):
    """Sets the graph-level seed of the default graph.

    Ops created afterwards without their own ``seed`` get one derived from the graph,
    so a program that builds the same graph draws the same numbers in every process.

    Args:
        seed: an integer, or None to clear the graph-level seed.

    Example:
        >>> tf.set_random_seed(42)
        >>> a = tf.random_uniform([2])   # same values every time the program runs
    """
    get_default_graph().seed = seed


def get_seed(op_seed):
    """The ``(seed, seed2)`` pair an op should use, from the graph seed and ``op_seed``.

    * graph seed set, ``op_seed`` None: ``op_seed`` is derived from the graph (its op
      count), so successive ops get different but reproducible streams;
    * only ``op_seed`` set: the graph seed defaults to ``DEFAULT_GRAPH_SEED``;
    * neither: ``(None, None)``, i.e. nondeterministic.

    ``(0, 0)`` would mean "nondeterministic" to the kernels, so it becomes ``(0, 2**31 - 1)``.

    Args:
        op_seed: the op-level seed (int or None).

    Returns:
        A pair of ints, or ``(None, None)``.
    """
    return _seeds(op_seed, get_default_graph())


def _seeds(op_seed, graph):
    global_seed = graph.seed
    if global_seed is not None:
        if op_seed is None:
            op_seed = len(graph._ops)
        seeds = (int(global_seed) % _MAXINT32, int(op_seed) % _MAXINT32)
    elif op_seed is not None:
        seeds = (DEFAULT_GRAPH_SEED, int(op_seed) % _MAXINT32)
    else:
        seeds = (None, None)
    if seeds == (0, 0):
        return (0, _MAXINT32)
    return seeds


def _seed_attrs(seed, graph=None):
    seed1, seed2 = _seeds(seed, graph if graph is not None else get_default_graph())
    return {"seed": seed1 or 0, "seed2": seed2 or 0}


def _generator(op, ctx):
    """The op's generator in this session, created on first use."""
    seed, seed2 = op._attrs["seed"], op._attrs["seed2"]

    def create():
        if seed == 0 and seed2 == 0:
            return np.random.Generator(np.random.PCG64())  # fresh OS entropy
        return np.random.Generator(np.random.PCG64([seed, seed2]))
    return ctx.state.resource(("rng", op.name), create)


def _transfers(xp):
    """(to_host, to_device) converters for kernels that sample with NumPy."""
    if xp is np:
        return _same, _same
    return xp.asnumpy, xp.asarray


def _same(x):
    return x


# ----------------------------------------------------------------------------------------------
# Shape arguments: static (an attr) when known while building, else a run-time input
# ----------------------------------------------------------------------------------------------
def _shape_arg(shape):
    """A shape argument as ``(dims, None)`` when known now, or ``(None, int tensor)``."""
    if isinstance(shape, TensorShape):
        if not shape.is_fully_defined():
            raise ValueError("Cannot convert a partially known TensorShape %s to a Tensor." % shape)
        return tuple(shape.as_list()), None
    if isinstance(shape, (list, tuple)) and any(core.is_tensor(d) for d in shape):
        from .array_ops import stack
        shape = stack([convert_to_tensor(d, dtype=None if core.is_tensor(d) else dtypes.int32)
                       for d in shape], name="shape")
    if core.is_tensor(shape):
        shape = convert_to_tensor(shape)
        _check_shape_tensor(shape)
        value = core.constant_value(shape)
        if value is not None:
            return _static_dims(value), None
        return None, shape
    return _static_dims(shape), None


def _static_dims(value):
    if isinstance(value, (list, tuple)):
        if any(d is None or (isinstance(d, Dimension) and d.value is None) for d in value):
            raise ValueError("Cannot convert a partially known shape %s to a Tensor." % (value,))
        value = [d.value if isinstance(d, Dimension) else d for d in value]
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise ValueError("Shape must be rank 1 but is rank %d (shape argument %r)"
                         % (arr.ndim, value))
    if arr.size == 0:
        return ()
    if arr.dtype.kind not in "iu":
        raise TypeError("Value passed to parameter 'shape' has DataType %s not in list of allowed "
                        "values: int32, int64" % dtypes.as_dtype(arr.dtype).name)
    if (arr < 0).any():
        raise ValueError("Dimensions of a shape must be >= 0, got %s" % (arr.tolist(),))
    return tuple(int(d) for d in arr)


def _check_shape_tensor(t):
    check_dtype(None, t, INDEX, arg="shape")
    if t._shape.ndims not in (None, 1):
        raise ValueError("Shape must be rank 1 but is rank %d" % t._shape.ndims)


def _op_shape(op):
    """The static output shape of a sampling op (``shape`` attr, or its shape input)."""
    dims = op._attrs["shape"]
    if dims is not None:
        return TensorShape(dims)
    _check_shape_tensor(op._inputs[0])
    return core.constant_value_as_shape(op._inputs[0])


def _run_shape(dims):
    dims = tuple(int(d) for d in np.reshape(dims, [-1]))
    if any(d < 0 for d in dims):
        raise errors.InvalidArgumentError(None, None, "Shape dimensions must be >= 0, got %s"
                                          % (list(dims),))
    return dims


def _random_op(op_type, dims, params, attrs, seed, name=None):
    """Adds a sampling op of shape ``dims`` (from ``_shape_arg``) with tensor ``params``."""
    static, shape_t = dims
    graph = shape_t.graph if shape_t is not None else (params[0].graph if params else None)
    attrs = dict(attrs, shape=static, **_seed_attrs(seed, graph))
    inputs = ([shape_t] if shape_t is not None else []) + list(params)
    return core.out(op_type, inputs, attrs, name=name)


def _sampler(draw):
    """Kernel factory for ops sampling ``draw(rng, shape, np_dtype, *params)`` on the host."""
    def make(op, ctx):
        rng = _generator(op, ctx)
        npd = op._attrs["dtype"].np
        to_host, to_dev = _transfers(ctx.xp)
        static = op._attrs["shape"]
        if static is not None:
            static = tuple(static)

            def sample(*params):
                return to_dev(draw(rng, static, npd, *[to_host(p) for p in params]))
        else:
            def sample(dims, *params):
                return to_dev(draw(rng, _run_shape(to_host(dims)), npd,
                                   *[to_host(p) for p in params]))
        return sample
    return make


def _gen_dtype(npd):
    """NumPy's generators draw float32 or float64; float16 is drawn as float32."""
    return np.float64 if npd == np.float64 else np.float32


def _check_float_dtype(dtype):
    dtype = dtypes.as_dtype(dtype)
    if dtype not in FLOATS:
        raise TypeError("Value passed to parameter 'dtype' has DataType %s not in list of allowed "
                        "values: float16, float32, float64" % dtype.name)
    return dtype


# ----------------------------------------------------------------------------------------------
# Normal and truncated normal
# ----------------------------------------------------------------------------------------------
def _float_sample_infer(op):
    return [(op._attrs["dtype"], _op_shape(op))]


def _draw_normal(rng, shape, npd):
    return rng.standard_normal(shape, dtype=_gen_dtype(npd)).astype(npd, copy=False)


def _draw_truncated(rng, shape, npd):
    gd = _gen_dtype(npd)
    x = rng.standard_normal(shape, dtype=gd)
    flat = x.reshape(-1)
    bad = np.flatnonzero(np.abs(flat) >= 2.0)
    while bad.size:  # resample only what fell outside two standard deviations
        flat[bad] = rng.standard_normal(bad.size, dtype=gd)
        bad = bad[np.abs(flat[bad]) >= 2.0]
    return x.astype(npd, copy=False)


register_op("RandomStandardNormal", infer=_float_sample_infer, kernel=_sampler(_draw_normal),
            grad=NOT_DIFFERENTIABLE, stateful=True,
            doc="Samples of N(0, 1) with the shape given by attr or input 'shape'.")
register_op("TruncatedNormal", infer=_float_sample_infer, kernel=_sampler(_draw_truncated),
            grad=NOT_DIFFERENTIABLE, stateful=True,
            doc="Samples of N(0, 1) redrawn until they lie within two standard deviations.")


def _normal(op_type, default_name, shape, mean, stddev, dtype, seed, name):
    dtype = _check_float_dtype(dtype)
    with name_scope(name, default_name, [shape, mean, stddev]) as scope:
        dims = _shape_arg(shape)
        mean_t = convert_to_tensor(mean, dtype=dtype, name="mean")
        stddev_t = convert_to_tensor(stddev, dtype=dtype, name="stddev")
        rnd = _random_op(op_type, dims, [], {"dtype": dtype}, seed)
        return math_ops.add(rnd * stddev_t, mean_t, name=scope)


def random_normal(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed=None, name=None):
    """Samples from a normal distribution (``tf.random.normal``).

    Args:
        shape: the output shape: a list of ints, a TensorShape or a 1-D int tensor.
        mean: mean, a scalar or a tensor broadcastable with the output.
        stddev: standard deviation, a scalar or a broadcastable tensor.
        dtype: float16, float32 or float64.
        seed: op-level seed (see ``set_random_seed``).
        name: name of the result.

    Returns:
        A ``dtype`` tensor; each run draws new values. Gradients flow to ``mean``
        and ``stddev`` (the result is ``standard_normal * stddev + mean``).

    Example:
        >>> x = tf.random_normal([2, 3], mean=1.0, stddev=0.5, seed=7)
    """
    return _normal("RandomStandardNormal", "random_normal", shape, mean, stddev, dtype, seed, name)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed=None, name=None):
    """Samples from a normal distribution, redrawing those beyond two standard deviations.

    Args:
        shape: the output shape: a list of ints, a TensorShape or a 1-D int tensor.
        mean: mean, a scalar or a tensor broadcastable with the output.
        stddev: standard deviation of the normal before truncation.
        dtype: float16, float32 or float64.
        seed: op-level seed (see ``set_random_seed``).
        name: name of the result.

    Returns:
        A ``dtype`` tensor with values in ``[mean - 2 stddev, mean + 2 stddev]``.

    Example:
        >>> w = tf.Variable(tf.truncated_normal([784, 10], stddev=0.1))
    """
    return _normal("TruncatedNormal", "truncated_normal", shape, mean, stddev, dtype, seed, name)


# ----------------------------------------------------------------------------------------------
# Uniform
# ----------------------------------------------------------------------------------------------
def _draw_uniform(rng, shape, npd):
    if npd == np.float16:
        # 10-bit grid: a float32 value rounded to float16 could reach 1.0.
        return (rng.integers(0, 1024, shape) * (1.0 / 1024)).astype(npd)
    return rng.random(shape, dtype=_gen_dtype(npd))


def _draw_uniform_int(rng, shape, npd, lo, hi):
    if lo >= hi:
        raise errors.InvalidArgumentError(None, None, "Need minval < maxval, got %s >= %s"
                                          % (lo, hi))
    return rng.integers(lo, hi, size=shape, dtype=npd)


def _uniform_int_infer(op):
    lo, hi = op._inputs[-2:]
    for arg, t in (("minval", lo), ("maxval", hi)):
        check_dtype(op, t, INDEX, arg=arg)
        if t._shape.ndims not in (None, 0):
            raise ValueError("%s must be a scalar; got a tensor of shape %s" % (arg, t._shape))
    if lo.dtype is not hi.dtype:
        raise TypeError("minval and maxval must have the same dtype, got %s and %s"
                        % (lo.dtype.name, hi.dtype.name))
    return [(lo.dtype, _op_shape(op))]


register_op("RandomUniform", infer=_float_sample_infer, kernel=_sampler(_draw_uniform),
            grad=NOT_DIFFERENTIABLE, stateful=True,
            doc="Samples of U[0, 1) with the shape given by attr or input 'shape'.")
register_op("RandomUniformInt", infer=_uniform_int_infer, kernel=_sampler(_draw_uniform_int),
            grad=NOT_DIFFERENTIABLE, stateful=True,
            doc="Uniform integers in [minval, maxval) (scalar inputs).")


def random_uniform(shape, minval=0, maxval=None, dtype=dtypes.float32, seed=None, name=None):
    """Samples from a uniform distribution on ``[minval, maxval)`` (``tf.random.uniform``).

    Args:
        shape: the output shape: a list of ints, a TensorShape or a 1-D int tensor.
        minval: lower bound (inclusive); for integers a scalar.
        maxval: upper bound (exclusive); defaults to 1 for floats, required for integers.
        dtype: float16, float32, float64, int32 or int64.
        seed: op-level seed (see ``set_random_seed``).
        name: name of the result.

    Returns:
        A ``dtype`` tensor; each run draws new values.

    Raises:
        ValueError: ``dtype`` is not supported, or is an integer type and ``maxval`` is None.

    Example:
        >>> dice = tf.random_uniform([10], minval=1, maxval=7, dtype=tf.int32)
    """
    dtype = dtypes.as_dtype(dtype)
    if dtype not in _UNIFORM_DTYPES:
        raise ValueError("Argument `dtype` got invalid value %s. Accepted dtypes are float16, "
                         "float32, float64, int32, int64." % dtype.name)
    if maxval is None:
        if dtype.is_integer:
            raise ValueError("Must specify maxval for integer dtype %r" % dtype)
        maxval = 1
    with name_scope(name, "random_uniform", [shape, minval, maxval]) as scope:
        dims = _shape_arg(shape)
        # TF skips the affine map for the default [0, 1) range.
        minval_is_zero = isinstance(minval, int) and minval == 0
        maxval_is_one = isinstance(maxval, int) and maxval == 1
        if not minval_is_zero or not maxval_is_one or dtype.is_integer:
            minval = convert_to_tensor(minval, dtype=dtype, name="min")
            maxval = convert_to_tensor(maxval, dtype=dtype, name="max")
        if dtype.is_integer:
            return _random_op("RandomUniformInt", dims, [minval, maxval], {"dtype": dtype}, seed,
                              name=scope)
        rnd = _random_op("RandomUniform", dims, [], {"dtype": dtype}, seed)
        if minval_is_zero:
            return rnd if maxval_is_one else math_ops.multiply(rnd, maxval)
        return math_ops.add(rnd * (maxval - minval), minval, name=scope)


# ----------------------------------------------------------------------------------------------
# Shuffle
# ----------------------------------------------------------------------------------------------
def _shuffle_kernel(op, ctx):
    rng = _generator(op, ctx)
    _, to_dev = _transfers(ctx.xp)

    def random_shuffle(x):
        if x.ndim == 0 or x.shape[0] <= 1:
            return x
        return x[to_dev(rng.permutation(x.shape[0]))]
    return random_shuffle


register_op("RandomShuffle", infer=lambda op: [(op._inputs[0].dtype, op._inputs[0]._shape)],
            kernel=_shuffle_kernel, grad=NOT_DIFFERENTIABLE, stateful=True,
            doc="A random permutation of the input along its first dimension.")


def random_shuffle(value, seed=None, name=None):
    """Shuffles ``value`` along its first dimension (``tf.random.shuffle``).

    Args:
        value: a tensor of any dtype.
        seed: op-level seed (see ``set_random_seed``).
        name: name of the op.

    Returns:
        A tensor of the shape and dtype of ``value``, rows permuted anew on each run.

    Example:
        >>> tf.random_shuffle([[1, 2], [3, 4], [5, 6]], seed=3)
    """
    graph = value.graph if isinstance(value, Tensor) else get_default_graph()
    attrs = _seed_attrs(seed, graph)  # TF takes the seed before converting the value
    return core.out("RandomShuffle", [convert_to_tensor(value)], attrs, name=name)


# ----------------------------------------------------------------------------------------------
# Multinomial (categorical)
# ----------------------------------------------------------------------------------------------
def _num_samples(op):
    n = op._attrs["num_samples"]
    if n is not None:
        return n
    c = core.constant_value(op._inputs[1])
    return None if c is None else int(c)


def _multinomial_infer(op):
    logits = op._inputs[0]
    check_dtype(op, logits, FLOATS, arg="logits")
    if logits._shape.ndims not in (None, 2):
        raise ValueError("Shape must be rank 2 but is rank %d (logits must be "
                         "[batch_size, num_classes])" % logits._shape.ndims)
    if len(op._inputs) > 1:
        n_t = op._inputs[1]
        check_dtype(op, n_t, {dtypes.int32}, arg="num_samples")
        if n_t._shape.ndims not in (None, 0):
            raise ValueError("num_samples must be a scalar, got shape %s" % n_t._shape)
    n = _num_samples(op)
    if n is not None and n < 0:
        raise ValueError("num_samples must be non-negative but is %d" % n)
    batch = logits._shape[0].value if logits._shape.ndims is not None else None
    return [(op._attrs["output_dtype"], TensorShape([batch, n]))]


def _draw_categorical(rng, logits, n, npd):
    """Inverse-CDF sampling per row; non-finite logits have zero probability (as TF)."""
    batch, classes = logits.shape
    if n < 0:
        raise errors.InvalidArgumentError(None, None, "num_samples should be nonnegative, got %d"
                                          % n)
    if batch == 0 or n == 0:
        return np.zeros((batch, n), dtype=npd)
    if classes == 0:
        raise errors.InvalidArgumentError(None, None, "num_classes should be positive, got 0")
    x = logits.astype(np.float64)
    finite = np.isfinite(x)
    top = np.max(np.where(finite, x, -np.inf), axis=1, keepdims=True)
    top[~np.isfinite(top)] = 0.0
    cdf = np.cumsum(np.exp(np.where(finite, x - top, -np.inf)), axis=1)
    target = rng.random((batch, n)) * cdf[:, -1:]
    out = np.empty((batch, n), dtype=npd)
    for i in range(batch):
        out[i] = np.searchsorted(cdf[i], target[i], side="right")
    return out


def _multinomial_kernel(op, ctx):
    rng = _generator(op, ctx)
    npd = op._attrs["output_dtype"].np
    to_host, to_dev = _transfers(ctx.xp)
    n = op._attrs["num_samples"]
    if n is not None:
        return lambda logits: to_dev(_draw_categorical(rng, to_host(logits), n, npd))
    return lambda logits, num: to_dev(_draw_categorical(rng, to_host(logits), int(to_host(num)),
                                                        npd))


register_op("Multinomial", infer=_multinomial_infer, kernel=_multinomial_kernel,
            grad=NOT_DIFFERENTIABLE, stateful=True,
            doc="Class indices drawn from softmax(logits) per row: [batch, num_samples].")


def _categorical(logits, num_samples, dtype, seed):
    logits = convert_to_tensor(logits, name="logits")
    dtype = dtypes.as_dtype(dtype) if dtype else dtypes.int64
    if dtype not in INDEX:
        raise ValueError("Argument `dtype` got invalid value %s. Accepted dtypes are int32, int64."
                         % dtype.name)
    attrs = dict(_seed_attrs(seed, logits.graph), output_dtype=dtype)
    inputs = [logits]
    if isinstance(num_samples, Tensor) and core.constant_value(num_samples) is None:
        inputs.append(num_samples)
        attrs["num_samples"] = None
    else:
        attrs["num_samples"] = int(core.constant_value(num_samples)
                                   if isinstance(num_samples, Tensor) else num_samples)
    return core.out("Multinomial", inputs, attrs)


def multinomial(logits, num_samples, seed=None, name=None, output_dtype=None):
    """Draws class indices from the categorical distributions ``softmax(logits)``.

    Args:
        logits: ``[batch_size, num_classes]`` float tensor of unnormalized log-probabilities.
        num_samples: samples to draw per row (int or scalar int32 tensor).
        seed: op-level seed (see ``set_random_seed``).
        name: name scope.
        output_dtype: int32 or int64 (default int64).

    Returns:
        ``[batch_size, num_samples]`` tensor of indices.

    Example:
        >>> tf.multinomial(tf.log([[0.5, 0.5]]), 5)
    """
    with name_scope(name, "multinomial", [logits]):
        return _categorical(logits, num_samples, output_dtype, seed)


def categorical(logits, num_samples, dtype=None, seed=None, name=None):
    """``tf.random.categorical``: :func:`multinomial` with a ``dtype`` argument."""
    with name_scope(name, "categorical", [logits]):
        return _categorical(logits, num_samples, dtype, seed)


# ----------------------------------------------------------------------------------------------
# Gamma and Poisson
# ----------------------------------------------------------------------------------------------
def _param_sample_infer(op):
    """Output shape: the sample shape followed by the parameter's shape."""
    return [(op._attrs["dtype"], _op_shape(op).concatenate(op._inputs[-1]._shape))]


def _draw_gamma(rng, shape, npd, alpha):
    gd = _gen_dtype(npd)
    return rng.standard_gamma(alpha.astype(gd), size=shape + alpha.shape,
                              dtype=gd).astype(npd, copy=False)


def _draw_poisson(rng, shape, npd, lam):
    return rng.poisson(lam.astype(np.float64), size=shape + lam.shape).astype(npd)


# No gradient for alpha yet: TF's implicit reparameterization gradient needs the
# derivative of the incomplete gamma function. tf.gradients raises LookupError.
register_op("RandomGamma", infer=_param_sample_infer, kernel=_sampler(_draw_gamma),
            stateful=True, doc="Gamma(alpha, 1) samples: shape + alpha.shape.")
register_op("RandomPoissonV2", infer=_param_sample_infer, kernel=_sampler(_draw_poisson),
            grad=NOT_DIFFERENTIABLE, stateful=True,
            doc="Poisson(rate) samples: shape + rate.shape, in the 'dtype' attr.")


def random_gamma(shape, alpha, beta=None, dtype=dtypes.float32, seed=None, name=None):
    """Draws ``shape`` samples from each Gamma(alpha, beta) distribution (``tf.random.gamma``).

    Args:
        shape: sample shape per distribution (list of ints or 1-D int tensor).
        alpha: concentration(s), broadcastable with ``beta``.
        beta: rate(s) (inverse scale); default 1.
        dtype: float16, float32 or float64.
        seed: op-level seed (see ``set_random_seed``).
        name: name scope.

    Returns:
        Tensor of shape ``shape + broadcast(alpha, beta).shape``. Gradients flow to
        ``beta``; there is no gradient w.r.t. ``alpha``.

    Example:
        >>> tf.random_gamma([10], [0.5, 1.5])   # shape [10, 2]
    """
    dtype = _check_float_dtype(dtype)
    with name_scope(name, "random_gamma", [shape, alpha, beta]):
        dims = _shape_arg(shape)
        alpha = convert_to_tensor(alpha, name="alpha", dtype=dtype)
        beta = convert_to_tensor(beta if beta is not None else 1, name="beta", dtype=dtype)
        if not (alpha.shape.is_fully_defined() and beta.shape.is_fully_defined()
                and broadcast_shape(alpha.shape, beta.shape) == alpha.shape):
            alpha = math_ops.broadcast_like(alpha, alpha + beta)
        rnd = _random_op("RandomGamma", dims, [alpha], {"dtype": dtype}, seed)
        return math_ops.maximum(np.finfo(dtype.np).tiny, rnd / beta)


def random_poisson(lam, shape, dtype=dtypes.float32, seed=None, name=None):
    """Draws ``shape`` samples from each Poisson(lam) distribution (``tf.random.poisson``).

    Args:
        lam: rate(s), a float or int tensor.
        shape: sample shape per rate (list of ints or 1-D int tensor).
        dtype: output type: float16, float32, float64, int32 or int64.
        seed: op-level seed (see ``set_random_seed``).
        name: name scope.

    Returns:
        Tensor of shape ``shape + lam.shape`` and type ``dtype``.

    Example:
        >>> tf.random_poisson([0.5, 1.5], [10])   # shape [10, 2]
    """
    dtype = dtypes.as_dtype(dtype)
    if dtype not in _POISSON_DTYPES:
        raise TypeError("Value passed to parameter 'dtype' has DataType %s not in list of allowed "
                        "values: float16, float32, float64, int32, int64" % dtype.name)
    with name_scope(name, "random_poisson", [lam, shape]):
        dims = _shape_arg(shape)
        lam = convert_to_tensor(lam, name="lam", dtype_hint=dtypes.float32)
        check_dtype(None, lam, _POISSON_DTYPES, arg="rate")
        return _random_op("RandomPoissonV2", dims, [lam], {"dtype": dtype}, seed)
