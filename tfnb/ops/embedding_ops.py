"""Embeddings and sampled losses: ``embedding_lookup``, candidate samplers, ``nce_loss``,
``sampled_softmax_loss``.

A lookup in a variable is one ``ResourceGather`` op that reads rows straight from the
variable's slot; its gradient w.r.t. the variable is an ``IndexedSlices`` (the rows used
and their gradients), so an optimizer updates only those rows -- the whole point of
word2vec-style training with a 50k-word table.

The candidate samplers follow TF's ``range_sampler.cc``: log-uniform (Zipfian)
``P(k) = log((k + 2) / (k + 1)) / log(range_max + 1)``, uniform, and fixed unigram
distributions. With ``unique=True`` candidates are drawn without replacement and the
expected counts account for the number of draws it took: ``-expm1(tries * log1p(-p))``.
Each sampler op owns a seeded generator per session, like the random ops.

Example:
    >>> embed = tf.nn.embedding_lookup(embeddings, train_inputs)
    >>> loss = tf.reduce_mean(tf.nn.nce_loss(nce_w, nce_b, train_labels, embed,
    ...                                      num_sampled=64, num_classes=50000))
"""
import threading

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import IndexedSlices, name_scope
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import TensorShape, unknown_shape
from . import array_ops, clip_ops, core, math_ops, matmul_ops, nn_ops, random_ops
from .core import convert_to_tensor, out
from .gradients import stop_gradient
from .shape_rules import INDEX, check_dtype
from .variables import Variable, _handle_spec

__all__ = ["embedding_lookup", "log_uniform_candidate_sampler", "uniform_candidate_sampler",
           "fixed_unigram_candidate_sampler", "all_candidate_sampler", "compute_accidental_hits",
           "nce_loss", "sampled_softmax_loss"]


# ----------------------------------------------------------------------------------------------
# ResourceGather: rows of a variable, with a sparse gradient
# ----------------------------------------------------------------------------------------------
def _resource_gather_infer(op):
    handle, indices = op._inputs
    check_dtype(op, indices, INDEX, "indices")
    _, vshape = _handle_spec(handle)
    if vshape.ndims == 0:
        raise ValueError("Cannot gather from a scalar variable %s" % handle.op.name)
    if vshape.ndims is None or indices._shape.ndims is None:
        return [(op._attrs["dtype"], unknown_shape())]
    return [(op._attrs["dtype"], indices._shape.concatenate(vshape[1:]))]


def _check_rows(indices, n):
    """TF's error for an index outside [0, n) (NumPy would wrap negative ones silently)."""
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        flat = indices.reshape(-1)
        i = int(((flat < 0) | (flat >= n)).argmax())
        raise errors.InvalidArgumentError(None, None, "indices[%d] = %d is not in [0, %d)"
                                          % (i, int(flat[i]), n))


def _resource_gather_kernel(op, ctx):
    xp = ctx.xp

    def resource_gather(h, indices):
        v = h.read()
        if xp is not np:
            _check_rows(indices, v.shape[0])
            return xp.take(v, indices, axis=0)
        # NumPy's take refuses indices past the end itself; only negative ones need a look.
        if indices.size and indices.min() < 0:
            _check_rows(indices, v.shape[0])
        try:
            return np.take(v, indices, axis=0)
        except IndexError:
            _check_rows(indices, v.shape[0])
            raise
    return resource_gather


def _resource_gather_grad(op, g):
    handle, indices = op._inputs
    _, vshape = _handle_spec(handle)
    if vshape.is_fully_defined():
        dense_shape = core.constant(np.array(vshape.as_list(), np.int64 if indices.dtype is
                                             dtypes.int64 else np.int32))
        row = vshape.as_list()[1:]
    else:
        read = out("ReadVariableOp", [handle], {"dtype": op._attrs["dtype"]})
        dense_shape = array_ops.shape(read, out_type=indices.dtype)
        row = array_ops.shape(read)[1:]
    if indices._shape.ndims == 1:
        return [IndexedSlices(g, indices, dense_shape), None]
    size = indices._shape.num_elements()
    lead = [size if size is not None else -1]
    values = array_ops.reshape(g, lead + row if isinstance(row, list) else
                               array_ops.concat([lead, row], 0))
    return [IndexedSlices(values, array_ops.reshape(indices, [-1]), dense_shape), None]


register_op("ResourceGather", infer=_resource_gather_infer, kernel=_resource_gather_kernel,
            grad=_resource_gather_grad, stateful=True,
            doc="Rows ``indices`` of a variable; the gradient is an IndexedSlices of those rows.")


def _gather_rows(param, ids, name=None):
    """``param[ids]`` along axis 0, reading a Variable's rows without a dense read."""
    if isinstance(param, Variable):
        return out("ResourceGather", [param.handle, ids], {"dtype": param.dtype}, name=name)
    return array_ops.gather(param, ids, name=name)


def _clip(x, ids, max_norm):
    """Clips each embedding (the dims after the ids' dims) to L2 norm ``max_norm``."""
    if max_norm is None:
        return x
    ids_rank, rank = ids._shape.ndims, x._shape.ndims
    if ids_rank is None or rank is None:
        axes = array_ops.range_(array_ops.rank(ids), array_ops.rank(x))
    else:
        axes = list(range(ids_rank, rank))
    return clip_ops.clip_by_norm(x, max_norm, axes=axes)


def _dim0(p):
    return p.shape[0].value if p.shape.ndims else None


def embedding_lookup(params, ids, partition_strategy="mod", name=None, validate_indices=True,
                     max_norm=None):
    """Looks up rows ``ids`` of ``params`` (one table, or a list of its partitions).

    Args:
        params: a Variable or tensor ``[vocab, ...]``, or a list of them that together
            hold the table, split along dimension 0 by ``partition_strategy``.
        ids: int32/int64 tensor of any shape.
        partition_strategy: for a list of ``P`` partitions: ``"mod"`` puts id ``i`` in
            partition ``i % P`` at row ``i // P``; ``"div"`` gives each partition a
            contiguous block of ids (the first ``vocab % P`` partitions one id more).
        validate_indices: ignored (ids are always checked, as TF does on CPU).
        max_norm: if set, each looked-up embedding is clipped to this L2 norm.

    Returns:
        A tensor of shape ``ids.shape + params.shape[1:]``. Its gradient w.r.t. a
        Variable is an ``IndexedSlices``, so optimizers update only the rows used.

    Raises:
        ValueError: ``params`` is empty, or an unknown ``partition_strategy``.

    Example:
        >>> emb = tf.Variable(tf.random_uniform([50000, 128], -1.0, 1.0))
        >>> vectors = tf.nn.embedding_lookup(emb, word_ids)    # [batch, 128]
    """
    if params is None:
        raise ValueError("params must be specified")
    if isinstance(params, (list, tuple)):
        if not params:
            raise ValueError("Length of params is currently 0. Need at least one param.")
        params = list(params)
    else:
        params = [params]
    if partition_strategy not in ("mod", "div"):
        raise ValueError("Unrecognized partition strategy: %s. Must be one of either `mod` or "
                         "`div`." % partition_strategy)
    with name_scope(name, "embedding_lookup", params + [ids]) as scope:
        params = [p if isinstance(p, Variable) else convert_to_tensor(p, name="params")
                  for p in params]
        ids = convert_to_tensor(ids, name="ids")
        check_dtype(None, ids, INDEX, "ids")
        if len(params) == 1:
            return _clip(_gather_rows(params[0], ids, name=scope if max_norm is None else None),
                         ids, max_norm)
        return _partitioned_lookup(params, ids, partition_strategy, max_norm, scope)


def _partitioned_lookup(params, ids, strategy, max_norm, scope):
    """Lookup in a table split over ``params``: route ids to partitions, gather, restore order."""
    n_p = len(params)
    flat_ids = array_ops.reshape(ids, [-1])
    if strategy == "mod":
        p_assign = flat_ids % n_p
        new_ids = flat_ids // n_p
    else:
        sizes = [_dim0(p) for p in params]
        if None not in sizes:
            total = core.constant(sum(sizes), dtype=flat_ids.dtype)
        else:
            total = math_ops.add_n([math_ops.cast(array_ops.shape(p.value() if isinstance(
                p, Variable) else p)[0], flat_ids.dtype) for p in params])
        per = total // n_p
        extras = total % n_p
        p_assign = math_ops.maximum(flat_ids // (per + 1), (flat_ids - extras) // per)
        new_ids = math_ops.where(p_assign < extras, flat_ids % (per + 1),
                                 (flat_ids - extras) % per)
    positions = array_ops.range_(array_ops.size(flat_ids))
    results, order = [], []
    for p, param in enumerate(params):
        mask = math_ops.equal(p_assign, core.constant(p, dtype=p_assign.dtype))
        results.append(_gather_rows(param, array_ops.boolean_mask(new_ids, mask)))
        order.append(array_ops.boolean_mask(positions, mask))
    # Results are grouped by partition; gathering with the inverse permutation restores id order.
    stitched = array_ops.gather(array_ops.concat(results, 0),
                                array_ops.invert_permutation(array_ops.concat(order, 0)))
    row = params[0].shape[1:]
    for p in params[1:]:
        row = row.merge_with(p.shape[1:])
    if row.is_fully_defined():
        target = array_ops.shape(ids) if not ids.shape.is_fully_defined() else \
            ids.shape.as_list() + row.as_list()
        if not isinstance(target, list):
            target = array_ops.concat([target, row.as_list()], 0)
    else:
        first = params[0].value() if isinstance(params[0], Variable) else params[0]
        target = array_ops.concat([array_ops.shape(ids), array_ops.shape(first)[1:]], 0)
    ret = array_ops.reshape(stitched, target, name=scope if max_norm is None else None)
    ret.set_shape(ids.shape.concatenate(row))
    return _clip(ret, ids, max_norm)


# ----------------------------------------------------------------------------------------------
# Candidate samplers
# ----------------------------------------------------------------------------------------------
#: Use the numba kernels of ``sparse_kernels.py`` when numba is installed.
USE_NUMBA = True


def _sparse_kernels():
    """The numba kernels of ``sparse_kernels.py`` (summing repeated rows for sparse
    updates, the unique samplers' first distinct draws), or None where numba is unavailable or
    failed to load (``fusion_codegen.kernel_module``: copied into the kernel cache directory
    and imported from there, so numba's machine code is cached beside it, never in the
    repository)."""
    from ..runtime.passes import fusion_codegen
    return fusion_codegen.kernel_module("sparse_kernels.py")


# ----------------------------------------------------------------------------------------------
def _log_uniform(op):
    range_max = op._attrs["range_max"]
    log_range = np.log1p(range_max)

    def draw(rng, m):
        # Inverse CDF of the log-uniform law; the modulo guards against round-off at the top.
        r = rng.random(m)
        r *= log_range
        k = np.exp(r, out=r).astype(np.int64)
        k -= 1
        k %= range_max
        return k

    def prob(ids):
        ids = ids.astype(np.float64)
        return np.log((ids + 2.0) / (ids + 1.0)) / log_range
    return draw, prob


def _uniform(op):
    range_max = op._attrs["range_max"]
    return (lambda rng, m: rng.integers(0, range_max, m, dtype=np.int64),
            lambda ids: np.full(ids.shape, 1.0 / range_max))


def _unigram_weights(a):
    """The fixed unigram distribution: reserved ids, vocab file or list, distortion, sharding."""
    if a["vocab_file"]:
        counts = []
        with open(a["vocab_file"]) as fh:
            for line in fh:
                line = line.strip()
                if line:
                    counts.append(float(line.split(",")[-1]))
    else:
        counts = list(a["unigrams"])
    w = np.concatenate([np.zeros(a["num_reserved_ids"]),
                        np.asarray(counts, np.float64) ** a["distortion"]])
    if w.size != a["range_max"]:
        raise errors.InvalidArgumentError(
            None, None, "range_max must equal the number of ids in the unigram distribution "
            "(num_reserved_ids + %d = %d), got %d" % (len(counts), w.size, a["range_max"]))
    ids = np.arange(w.size)
    w[ids % a["num_shards"] != a["shard"]] = 0.0
    return w / w.sum()


def _fixed_unigram(op):
    p = _unigram_weights(op._attrs)
    cdf = np.cumsum(p)
    cdf /= cdf[-1]
    if op._attrs["unique"] and np.count_nonzero(p) < op._attrs["num_sampled"]:
        raise errors.InvalidArgumentError(
            None, None, "Cannot draw %d unique candidates from %d ids of nonzero probability"
            % (op._attrs["num_sampled"], np.count_nonzero(p)))

    def draw(rng, m):
        return np.minimum(np.searchsorted(cdf, rng.random(m), side="right"),
                          p.size - 1).astype(np.int64)
    return draw, lambda ids: p[ids]


def _first_occurrences(a):
    """Positions of the first occurrence of each distinct value of the 1-D ``a``, ascending."""
    perm = np.argsort(a, kind="stable")  # equal values keep their order: the first leads
    s = a[perm]
    head = np.empty(a.shape[0], bool)
    head[:1] = True
    np.not_equal(s[1:], s[:-1], out=head[1:])
    first = perm[head]
    first.sort()
    return first


def _draw_unique(rng, draw, n, slot=None):
    """``n`` distinct draws (in draw order) and how many draws that took.

    Draws come in chunks of ``2 * need + 8``; the count stops at the draw that gave the
    ``n``-th distinct value (the rest of the last chunk is not counted). With ``slot``
    (int32 scratch with an entry per possible value; every draw must be below its size) the
    numba kernel ``first_distinct`` finds the first occurrences, else a stable argsort.
    """
    nk = _sparse_kernels() if slot is not None and USE_NUMBA else None
    picked = np.empty(0, np.int64)
    tries = 0
    while picked.size < n:
        need = n - picked.size
        chunk = draw(rng, 2 * need + 8)
        both = np.concatenate([picked, chunk]) if picked.size else chunk
        if nk is not None:
            # the picked values are distinct: the first picked.size positions are theirs
            m, first = nk.first_distinct(both, n, slot)
            new = first[picked.size:m]
        else:
            first = _first_occurrences(both)
            new = first[first >= picked.size] if picked.size else first
        if new.size >= need:
            tries += int(new[need - 1]) - picked.size + 1
            new = new[:need]
        else:
            tries += chunk.size
        picked = both[new] if not picked.size else np.concatenate([picked, both[new]])
    return picked, tries


def _expected_count(p, n, tries):
    if tries == n:  # always so without uniqueness
        return (p * n).astype(np.float32)
    return (-np.expm1(tries * np.log1p(-p))).astype(np.float32)


#: Largest range_max whose ``log1p(-P(k))`` the log-uniform sampler keeps as a table (8 MiB).
LOG_UNIFORM_TABLE_MAX = 1 << 20
#: Largest range_max for which a unique sampler keeps an int32 scratch buffer (an entry per
#: class) for the numba kernel; larger ranges sort.
UNIQUE_SLOT_MAX = 1 << 24


def _counts_from_table(table, ids, tries):
    """``_expected_count(prob(ids), n, tries)`` for a unique sampler (``tries != n``), with
    ``table[k] = log1p(-prob(k))``: the same float64 values, so the same float32 counts."""
    x = np.take(table, ids)
    x *= tries
    np.expm1(x, out=x)
    return np.negative(x, out=np.empty(x.shape, np.float32), casting="unsafe")


_DISTRIBUTIONS = {"LogUniformCandidateSampler": _log_uniform,
                  "UniformCandidateSampler": _uniform,
                  "FixedUnigramCandidateSampler": _fixed_unigram}


def _sampler_kernel(op, ctx):
    rng = random_ops._generator(op, ctx)
    to_host, to_dev = random_ops._transfers(ctx.xp)
    a = op._attrs
    n, unique = a["num_sampled"], a["unique"]
    draw, prob = _DISTRIBUTIONS[op.type](op)
    table = []  # [log1p(-prob(k)) for all k], built on first use (log-uniform, unique only)
    use_table = (unique and op.type == "LogUniformCandidateSampler"
                 and a["range_max"] <= LOG_UNIFORM_TABLE_MAX)

    def counts(true_classes, sampled, tries):
        """(true_expected_count, sampled_expected_count)."""
        if use_table and tries != n and true_classes.size and true_classes.min() >= 0 and \
                true_classes.max() < a["range_max"]:
            if not table:
                table.append(np.log1p(-prob(np.arange(a["range_max"]))))
            # one pass over both (the sampled ids are in range by construction)
            both = _counts_from_table(table[0], np.concatenate([true_classes.reshape(-1),
                                                                sampled]), tries)
            k = true_classes.size
            return both[:k].reshape(true_classes.shape), both[k:]
        return (_expected_count(prob(true_classes), n, tries),
                _expected_count(prob(sampled), n, tries))

    slot = []   # the numba kernel's scratch, made on first use
    lock = threading.Lock()   # it serves one call at a time

    def candidate_sampler(true_classes):
        true_classes = to_host(true_classes)
        if unique:
            with lock:
                if not slot:
                    fits = (a.get("range_max") or 0) <= UNIQUE_SLOT_MAX and USE_NUMBA and \
                        _sparse_kernels() is not None
                    slot.append(np.empty(a["range_max"], np.int32) if fits else None)
                sampled, tries = _draw_unique(rng, draw, n, slot[0])
        else:
            sampled, tries = draw(rng, n), n
        true_count, sampled_count = counts(true_classes, sampled, tries)
        return to_dev(sampled), to_dev(true_count), to_dev(sampled_count)
    return candidate_sampler


def _all_sampler_kernel(op, ctx):
    xp = ctx.xp
    n = op._attrs["num_sampled"]
    return lambda t: (xp.arange(n, dtype=np.int64), xp.ones(t.shape, np.float32),
                      xp.ones(n, np.float32))


def _sampler_infer(op):
    t = op._inputs[0]
    a = op._attrs
    check_dtype(op, t, {dtypes.int64}, "true_classes")
    s = t._shape.with_rank(2) if t._shape.ndims is not None else unknown_shape(2)
    if s[1].value is not None and s[1].value != a["num_true"]:
        raise ValueError("true_classes must be [batch_size, num_true=%d], got shape %s"
                         % (a["num_true"], t._shape))
    n = a["num_sampled"]
    if a["unique"] and a.get("range_max") is not None and n > a["range_max"]:
        raise ValueError("num_sampled (%d) cannot be greater than range_max (%d) when unique=True"
                         % (n, a["range_max"]))
    return [(dtypes.int64, TensorShape([n])),
            (dtypes.float32, TensorShape([s[0].value, a["num_true"]])),
            (dtypes.float32, TensorShape([n]))]


for _name in _DISTRIBUTIONS:
    register_op(_name, infer=_sampler_infer, kernel=_sampler_kernel, grad=NOT_DIFFERENTIABLE,
                stateful=True, doc="(sampled_candidates, true_expected_count, "
                                   "sampled_expected_count) for sampled losses.")
register_op("AllCandidateSampler", infer=_sampler_infer, kernel=_all_sampler_kernel,
            grad=NOT_DIFFERENTIABLE, stateful=True,
            doc="Samples 0..num_sampled-1 (all classes); every expected count is 1.")


def _candidate_sampler(op_type, true_classes, num_true, num_sampled, unique, seed, name,
                       **attrs):
    if num_sampled < 1:
        raise ValueError("num_sampled must be positive, got %d" % num_sampled)
    if num_true < 1:
        raise ValueError("num_true must be positive, got %d" % num_true)
    t = convert_to_tensor(true_classes, name="true_classes", preferred_dtype=dtypes.int64)
    attrs.update(num_true=int(num_true), num_sampled=int(num_sampled), unique=bool(unique),
                 **random_ops._seed_attrs(seed, t.graph))
    o = core.op(op_type, [t], attrs, name=name)
    return o._outputs


def _check_range(range_max):
    if range_max < 1:
        raise ValueError("range_max must be positive, got %d" % range_max)
    return int(range_max)


def log_uniform_candidate_sampler(true_classes, num_true, num_sampled, unique, range_max,
                                  seed=None, name=None):
    """Samples classes from the log-uniform (Zipfian) law ``P(k) ∝ log((k + 2) / (k + 1))``.

    Good for words sorted by decreasing frequency (word2vec). Args and results as in TF:

    Args:
        true_classes: int64 ``[batch_size, num_true]``: the target classes.
        num_true: classes per example.
        num_sampled: how many classes to sample.
        unique: sample without replacement (within this batch).
        range_max: the number of classes.
        seed: op-level seed.

    Returns:
        ``(sampled_candidates [num_sampled] int64, true_expected_count [batch, num_true],
        sampled_expected_count [num_sampled])``, the counts float32: how many times each
        class is expected among the samples.
    """
    return _candidate_sampler("LogUniformCandidateSampler", true_classes, num_true, num_sampled,
                              unique, seed, name, range_max=_check_range(range_max))


def uniform_candidate_sampler(true_classes, num_true, num_sampled, unique, range_max, seed=None,
                              name=None):
    """Samples classes uniformly from ``[0, range_max)``; results as
    :func:`log_uniform_candidate_sampler`."""
    return _candidate_sampler("UniformCandidateSampler", true_classes, num_true, num_sampled,
                              unique, seed, name, range_max=_check_range(range_max))


def fixed_unigram_candidate_sampler(true_classes, num_true, num_sampled, unique, range_max,
                                    vocab_file="", distortion=1.0, num_reserved_ids=0,
                                    num_shards=1, shard=0, unigrams=(), seed=None, name=None):
    """Samples classes with probability proportional to ``unigrams ** distortion``.

    The counts come from ``unigrams`` or from ``vocab_file`` (CSV lines whose last field is
    the count); the first ``num_reserved_ids`` ids get probability 0, and with
    ``num_shards > 1`` only ids ``i`` with ``i % num_shards == shard`` are sampled.
    Results as :func:`log_uniform_candidate_sampler`.
    """
    if bool(vocab_file) == bool(len(unigrams)):
        raise ValueError("Must specify exactly one of vocab_file and unigrams")
    if not 0 <= shard < num_shards:
        raise ValueError("shard must be in [0, num_shards=%d), got %d" % (num_shards, shard))
    if not vocab_file and len(unigrams) + num_reserved_ids != range_max:
        raise ValueError("range_max (%d) must equal num_reserved_ids + len(unigrams) (%d)"
                         % (range_max, len(unigrams) + num_reserved_ids))
    return _candidate_sampler("FixedUnigramCandidateSampler", true_classes, num_true, num_sampled,
                              unique, seed, name, range_max=_check_range(range_max),
                              vocab_file=str(vocab_file), distortion=float(distortion),
                              num_reserved_ids=int(num_reserved_ids), num_shards=int(num_shards),
                              shard=int(shard), unigrams=tuple(float(c) for c in unigrams))


def all_candidate_sampler(true_classes, num_true, num_sampled, unique, seed=None, name=None):
    """"Samples" all classes ``0 .. num_sampled - 1``; every expected count is 1 (for testing)."""
    return _candidate_sampler("AllCandidateSampler", true_classes, num_true, num_sampled,
                              unique, seed, name)


# ----------------------------------------------------------------------------------------------
# Accidental hits
# ----------------------------------------------------------------------------------------------
def _accidental_hits_kernel(op, ctx):
    xp = ctx.xp
    num_true = op._attrs["num_true"]

    def compute_accidental_hits_(true_classes, sampled):
        if true_classes.ndim != 2 or true_classes.shape[1] != num_true:
            raise ValueError("true_classes must be [batch_size, %d], got %s"
                             % (num_true, list(true_classes.shape)))
        # TF maps each sampled value to its last position in `sampled`.
        last = xp.ones(sampled.shape, bool)
        if sampled.size > 1:
            rev = sampled[::-1]
            _, first_in_rev = xp.unique(rev, return_index=True)
            last[:] = False
            last[sampled.size - 1 - first_in_rev] = True
        hit = (true_classes[:, :, None] == sampled[None, None, :]) & last
        rows, _, cols = xp.nonzero(hit)
        return (rows.astype(np.int32), cols.astype(np.int64),
                xp.full(rows.shape, -np.finfo(np.float32).max, np.float32))
    return compute_accidental_hits_


def _accidental_hits_infer(op):
    t, s = op._inputs
    check_dtype(op, t, {dtypes.int64}, "true_classes")
    check_dtype(op, s, {dtypes.int64}, "sampled_candidates")
    vec = TensorShape([None])
    return [(dtypes.int32, vec), (dtypes.int64, vec), (dtypes.float32, vec)]


register_op("ComputeAccidentalHits", infer=_accidental_hits_infer, kernel=_accidental_hits_kernel,
            grad=NOT_DIFFERENTIABLE,
            doc="(row, position in sampled, -FLT_MAX) for each sampled candidate equal to a "
                "true class of that row.")


def compute_accidental_hits(true_classes, sampled_candidates, num_true, seed=None, name=None):
    """Where sampled candidates equal a true class of an example.

    Returns:
        ``(indices int32, ids int64, weights float32)``: for each hit, the example's row,
        the candidate's position in ``sampled_candidates``, and ``-FLT_MAX`` (to add to the
        sampled logit so the hit does not count as a negative).
    """
    t = convert_to_tensor(true_classes, name="true_classes", preferred_dtype=dtypes.int64)
    s = convert_to_tensor(sampled_candidates, name="sampled_candidates",
                          preferred_dtype=dtypes.int64)
    return core.op("ComputeAccidentalHits", [t, s], {"num_true": int(num_true)}, name=name)._outputs


# ----------------------------------------------------------------------------------------------
# SampledLogits: the logits of the true and sampled classes in one op
# ----------------------------------------------------------------------------------------------
_FLT_MAX = float(np.finfo(np.float32).max)


def _split_classes(op):
    """(num_true, num_sampled) of a SampledLogits[Grad] op."""
    return op._attrs["num_true"], op._attrs["num_sampled"]


def _sampled_logits_infer(op):
    inputs, weights, biases = op._inputs[:3]
    t, s = _split_classes(op)
    for arg, x in (("weights", weights), ("biases", biases)):
        if x.dtype is not inputs.dtype:
            raise TypeError("%s has dtype %s, inputs %s" % (arg, x.dtype.name, inputs.dtype.name))
    ins = inputs._shape.with_rank(2) if inputs._shape.ndims is not None else unknown_shape(2)
    ws = weights._shape.with_rank(2) if weights._shape.ndims is not None else unknown_shape(2)
    if ins[1].value is not None and ws[1].value not in (None, ins[1].value):
        raise ValueError("inputs [batch, %d] and class weights [n, %d] differ in dimension"
                         % (ins[1].value, ws[1].value))
    b = ins[0].value
    if b is not None and ws[0].value not in (None, b * t + s):
        raise ValueError("expected %d class weight rows (batch %d * num_true %d + num_sampled "
                         "%d), got %d" % (b * t + s, b, t, s, ws[0].value))
    return [(inputs.dtype, TensorShape([b, t + s]))]


def _sampled_logits_kernel(op, ctx):
    xp = ctx.xp
    t, s = _split_classes(op)
    a = op._attrs
    log_q, remove_hits = a["subtract_log_q"], a["remove_accidental_hits"]
    hits = _accidental_hits_kernel(op, ctx) if remove_hits else None

    def sampled_logits(inputs, w, b, *extra):
        n = inputs.shape[0] * t
        if w.shape[0] != n + s:
            raise ValueError("expected %d class weight rows, got %d" % (n + s, w.shape[0]))
        out = xp.empty((inputs.shape[0], t + s), inputs.dtype)
        if t == 1:
            _vecdot(xp, inputs, w[:n], out[:, 0])
        else:
            out[:, :t] = xp.einsum("bd,btd->bt", inputs, w[:n].reshape(-1, t, w.shape[1]))
        out[:, :t] += b[:n].reshape(-1, t)
        xp.matmul(inputs, w[n:].T, out=out[:, t:])
        out[:, t:] += b[n:]
        if log_q:
            out[:, :t] -= xp.log(extra[0])
            out[:, t:] -= xp.log(extra[1])
        if remove_hits:
            rows, cols, _ = hits(extra[2], extra[3])
            # A sampled class equal to a true class of its row must not count as a negative.
            xp.add.at(out[:, t:], (rows, cols), out.dtype.type(-_FLT_MAX))
        return out
    # W7's [128, 128] x [128, 64] products: two BLAS threads woken for 1M multiply-adds cost
    # more than they save (SampledLogits 59 -> 108 us once OpenBLAS's threads sleep when idle).
    return matmul_ops.on_one_thread_when_small(xp, sampled_logits,
                                               lambda inputs, *rest: inputs.size * s)


def _vecdot(xp, a, b, out):
    """``out[i] = a[i] . b[i]`` (rows of two matrices)."""
    if hasattr(xp, "vecdot"):   # NumPy >= 2: a fused loop, about twice as fast as einsum
        xp.vecdot(a, b, out=out)
    else:
        out[...] = xp.einsum("bd,bd->b", a, b)


def _sampled_logits_grad(op, g):
    inputs, weights = op._inputs[:2]
    grads = core.op("SampledLogitsGrad", [g, inputs, weights], _grad_attrs(op))._outputs
    return list(grads) + [None] * (len(op._inputs) - 3)


def _grad_attrs(op):
    return {"num_true": op._attrs["num_true"], "num_sampled": op._attrs["num_sampled"]}


def _sampled_logits_grad_kernel(op, ctx):
    xp = ctx.xp
    t, s = _split_classes(op)

    def sampled_logits_grad(g, inputs, w):
        bsz, d = inputs.shape
        n = bsz * t
        gt, gs = g[:, :t], g[:, t:]
        d_w = xp.empty((w.shape[0], d), w.dtype)
        d_b = xp.empty(w.shape[0], w.dtype)
        d_in = xp.matmul(gs, w[n:])
        if t == 1:
            d_in += xp.multiply(gt, w[:n], out=d_w[:n])  # d_w[:n] as scratch, then its own
            xp.multiply(gt, inputs, out=d_w[:n])
        else:
            d_in += xp.einsum("bt,btd->bd", gt, w[:n].reshape(bsz, t, d))
            d_w[:n] = (gt[:, :, None] * inputs[:, None, :]).reshape(n, d)
        xp.matmul(gs.T, inputs, out=d_w[n:])
        d_b[:n] = gt.reshape(-1)
        xp.sum(gs, axis=0, out=d_b[n:])
        return d_in, d_w, d_b
    return matmul_ops.on_one_thread_when_small(xp, sampled_logits_grad,
                                               lambda g, inputs, w: 2 * inputs.size * s)


def _sampled_logits_grad_grad(op, gg_in, gg_w, gg_b):
    # The backward map is bilinear in (g, inputs | weights), so its derivatives are made of
    # the same two ops: d/dg is the forward map at (gg_in, w) and (inputs, gg_w, gg_b).
    g, inputs, w = op._inputs
    attrs = dict(_grad_attrs(op), subtract_log_q=False, remove_accidental_hits=False)
    terms = []
    if not _zero(gg_in):
        terms.append(core.out("SampledLogits", [gg_in, w, array_ops.zeros_like(gg_b)], attrs))
    if not (_zero(gg_w) and _zero(gg_b)):
        terms.append(core.out("SampledLogits", [inputs, gg_w, gg_b], attrs))
    d_g = math_ops.add_n(terms) if terms else None
    d_in = None if _zero(gg_w) else core.op("SampledLogitsGrad", [g, inputs, gg_w],
                                            _grad_attrs(op))._outputs[0]
    d_w = None if _zero(gg_in) else core.op("SampledLogitsGrad", [g, gg_in, w],
                                            _grad_attrs(op))._outputs[1]
    return [d_g, d_in, d_w]


def _zero(t):
    return nn_ops._is_zero(t)


register_op("SampledLogits", infer=_sampled_logits_infer, kernel=_sampled_logits_kernel,
            grad=_sampled_logits_grad,
            doc="[batch, num_true + num_sampled] logits: each input's dot products with its true "
                "classes' rows and with the sampled rows of `weights`, plus biases; optionally "
                "minus log(expected count) and with accidental hits pushed to -FLT_MAX.")
register_op("SampledLogitsGrad",
            infer=lambda op: [(t.dtype, t._shape) for t in op._inputs[1:]]
            + [(op._inputs[2].dtype, op._inputs[2]._shape[:1])],
            kernel=_sampled_logits_grad_kernel, grad=_sampled_logits_grad_grad,
            doc="(d inputs, d weights, d biases) of SampledLogits.")


# ----------------------------------------------------------------------------------------------
# Sampled losses
# ----------------------------------------------------------------------------------------------
def _compute_sampled_logits(weights, biases, labels, inputs, num_sampled, num_classes, num_true,
                            sampled_values, subtract_log_q, remove_accidental_hits,
                            partition_strategy, name, seed=None):
    """Logits and labels of the true and the sampled classes: ``[batch, num_true + num_sampled]``.

    As TF: the rows of ``weights``/``biases`` for the true and sampled classes are looked
    up together (so their gradients are IndexedSlices), and each logit has the log of its
    class's expected count subtracted. One ``SampledLogits`` op computes the logits.
    """
    if not isinstance(weights, (list, tuple)):
        weights = [weights]
    with name_scope(name, "compute_sampled_logits", list(weights) + [biases, inputs, labels]):
        labels = convert_to_tensor(labels, name="labels")
        if labels.dtype is not dtypes.int64:
            labels = math_ops.cast(labels, dtypes.int64)
        inputs = convert_to_tensor(inputs, name="inputs")
        if labels.shape.ndims not in (None, 2):
            raise ValueError("labels must be [batch_size, num_true], got shape %s" % labels.shape)
        if labels.shape.ndims == 2 and labels.shape[1].value not in (None, num_true):
            raise ValueError("labels must be [batch_size, num_true=%d], got shape %s"
                             % (num_true, labels.shape))
        if sampled_values is None:
            sampled_values = log_uniform_candidate_sampler(
                true_classes=labels, num_true=num_true, num_sampled=num_sampled, unique=True,
                range_max=num_classes, seed=seed)
        else:
            sampled_values = [stop_gradient(v) for v in sampled_values]
        sampled, true_expected, sampled_expected = sampled_values
        if sampled.dtype is not dtypes.int64:
            sampled = math_ops.cast(sampled, dtypes.int64)
        all_ids = array_ops.concat([array_ops.reshape(labels, [-1]), sampled], 0)
        all_w = embedding_lookup(weights, all_ids, partition_strategy=partition_strategy)
        all_b = embedding_lookup(biases, all_ids, partition_strategy=partition_strategy)
        all_w, all_b = (x if x.dtype is inputs.dtype else math_ops.cast(x, inputs.dtype)
                        for x in (all_w, all_b))
        extra = [math_ops.cast(true_expected, dtypes.float32),
                 math_ops.cast(sampled_expected, dtypes.float32)]
        if remove_accidental_hits:
            extra += [labels, sampled]
        logits = core.out("SampledLogits", [inputs, all_w, all_b] + extra, {
            "num_true": int(num_true), "num_sampled": int(num_sampled), "subtract_log_q":
            bool(subtract_log_q), "remove_accidental_hits": bool(remove_accidental_hits)})
        batch = logits.shape[0].value
        if batch is not None:
            targets = core.constant(np.concatenate(
                [np.full((batch, num_true), 1.0 / num_true), np.zeros((batch, num_sampled))],
                1).astype(inputs.dtype.np))
        else:
            n = array_ops.shape(logits)[:1]
            targets = array_ops.concat([
                array_ops.fill(array_ops.concat([n, [num_true]], 0),
                               core.constant(1.0 / num_true, dtype=inputs.dtype)),
                array_ops.fill(array_ops.concat([n, [num_sampled]], 0),
                               core.constant(0.0, dtype=inputs.dtype))], 1)
        return logits, targets


def nce_loss(weights, biases, labels, inputs, num_sampled, num_classes, num_true=1,
             sampled_values=None, remove_accidental_hits=False, partition_strategy="mod",
             name="nce_loss"):
    """Noise-contrastive estimation loss per example (Gutmann & Hyvärinen; word2vec's loss).

    Each example scores its true classes and ``num_sampled`` classes drawn from a
    noise distribution (log-uniform by default, so classes should be sorted by
    decreasing frequency), as independent logistic regressions, with the log of each
    class's expected count subtracted from its logit.

    Args:
        weights: ``[num_classes, dim]`` Variable/tensor (or a list of partitions).
        biases: ``[num_classes]``.
        labels: int ``[batch_size, num_true]`` target classes.
        inputs: ``[batch_size, dim]`` activations (e.g. embeddings).
        num_sampled: negatives per batch.
        num_classes: number of classes.
        num_true: targets per example.
        sampled_values: a ``(sampled, true_expected_count, sampled_expected_count)``
            tuple from a ``*_candidate_sampler`` (default: log-uniform, unique).
        remove_accidental_hits: do not count a sampled class equal to a target as a negative.
        partition_strategy: see :func:`embedding_lookup`.

    Returns:
        ``[batch_size]`` losses. The gradients w.r.t. ``weights`` and ``biases`` are
        ``IndexedSlices`` of the true and sampled rows only.

    Example:
        >>> loss = tf.reduce_mean(tf.nn.nce_loss(nce_w, nce_b, labels, embed, 64, 50000))
    """
    with name_scope(name, "nce_loss", [inputs, labels]) as scope:
        logits, labels = _compute_sampled_logits(
            weights, biases, labels, inputs, num_sampled, num_classes, num_true, sampled_values,
            True, remove_accidental_hits, partition_strategy, None)
        losses = nn_ops.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits,
                                                          name="sampled_losses")
        return math_ops.reduce_sum(losses, 1, name=scope)


def sampled_softmax_loss(weights, biases, labels, inputs, num_sampled, num_classes, num_true=1,
                         sampled_values=None, remove_accidental_hits=True,
                         partition_strategy="mod", name="sampled_softmax_loss", seed=None):
    """Softmax cross-entropy over the true classes and ``num_sampled`` sampled ones.

    A cheap estimate of the full softmax loss for training with many classes (Jean et
    al. 2014). Arguments as :func:`nce_loss`; ``seed`` seeds the default sampler.

    Returns:
        ``[batch_size]`` losses.
    """
    with name_scope(name, "sampled_softmax_loss", [inputs, labels]) as scope:
        logits, labels = _compute_sampled_logits(
            weights, biases, labels, inputs, num_sampled, num_classes, num_true, sampled_values,
            True, remove_accidental_hits, partition_strategy, None, seed=seed)
        labels = stop_gradient(labels, name="labels_stop_gradient")
        return nn_ops.softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits,
                                                           name=scope)
