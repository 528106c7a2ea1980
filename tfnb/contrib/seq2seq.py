"""``tf.contrib.seq2seq``: sequence_loss over [batch, time, classes] logits; tile_batch.

Not here yet (TF 1.15 has them): the attention mechanisms, AttentionWrapper, the decoders,
helpers and dynamic_decode.
"""
from ..ops.rnn import seq2seq_sequence_loss as sequence_loss  # noqa: F401
from ..ops.beam_search import beam_search_decode  # noqa: F401,E402


def _tile_one(t, multiplier):
    import tfnb as tf
    t = tf.convert_to_tensor(t, name="t")
    if t.get_shape().ndims is None:
        raise ValueError("tile_batch: the rank of %s must be known" % t.name)
    shape_t = tf.shape(t)
    tiling = [1] * (t.get_shape().ndims + 1)
    tiling[1] = multiplier
    tiled = tf.tile(tf.expand_dims(t, 1), tiling)
    tiled = tf.reshape(tiled, tf.concat([[shape_t[0] * multiplier], shape_t[1:]], 0))
    dims = t.get_shape().as_list()
    if dims:
        dims[0] = None if dims[0] is None else dims[0] * multiplier
        tiled.set_shape(dims)
    return tiled


def tile_batch(t, multiplier, name=None):
    """Repeats each batch entry ``multiplier`` times, consecutively (TF 1.15's ``tile_batch``).

    A [batch, ...] tensor (or a nested structure of them) becomes [batch * multiplier, ...] with
    rows ``b*multiplier .. b*multiplier + multiplier - 1`` all equal to entry ``b``: how the
    encoder's outputs and state are prepared for a beam search of width ``multiplier``.

    Example:
        >>> tile_batch(tf.constant([[1, 2], [3, 4]]), 2)   # [[1,2],[1,2],[3,4],[3,4]]
    """
    import tfnb as tf
    from ..util import nest
    with tf.name_scope(name or "tile_batch"):
        return nest.map_structure(lambda x: _tile_one(x, multiplier), t)
