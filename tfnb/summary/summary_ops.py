"""Summary ops: ``tf.summary.scalar``, ``histogram``, ``image``, ``audio``, ``text``,
``tensor_summary``, ``merge`` and ``merge_all``.

As in TF1, a summary is an ordinary pure graph op whose output is a string scalar:
a serialized ``Summary`` protocol buffer. Run it (usually through ``merge_all``) and
hand the bytes to ``FileWriter.add_summary``. The tag is the op's name, so it carries
the name scope: ``tf.summary.scalar("loss", x)`` under ``name_scope("train")`` has tag
``train/loss`` (``train/loss_1`` for a second one). Summary ops are added to
``GraphKeys.SUMMARIES`` unless ``collections`` says otherwise.

Kernels build the protos with tensorboardX, imported when a plan is compiled, so
building graphs with summaries needs nothing beyond NumPy (except ``tensor_summary``
and ``text``, whose ``SummaryMetadata`` is made with the op). A non-finite value is
written as it is (NaN stays NaN; in images such pixels are painted red, as TF does;
in audio they become silence) and a warning naming the tag is logged on the
``tfnb.summary`` logger, so a diverging run is flagged, not hidden.

Example:
    >>> with tf.name_scope("train"):
    ...     tf.summary.scalar("loss", loss)
    >>> merged = tf.summary.merge_all()
    >>> writer = tf.summary.FileWriter("/tmp/logs", sess.graph)
    >>> writer.add_summary(sess.run(merged), global_step=step)
"""
import contextlib
import logging
import math
import re

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import GraphKeys, get_default_graph, name_scope
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import TensorShape
from ..ops import core
from ..ops.logging_ops import to_host
from . import encoders, protos

__all__ = ["scalar", "histogram", "image", "audio", "text", "tensor_summary", "merge",
           "merge_all"]

logger = logging.getLogger("tfnb.summary")

_INVALID_TAG_CHARACTERS = re.compile(r"[^-/\w.]")
_STRING_SCALAR = [(dtypes.string, TensorShape([]))]


# ----------------------------------------------------------------------------------------------
# Shared pieces: tags and scopes, input checks, the serialized output
# ----------------------------------------------------------------------------------------------
def _clean_tag(name):
    """``name`` with characters TensorBoard rejects replaced by '_' (TF1's ``clean_tag``)."""
    if name is None:
        return None
    new = _INVALID_TAG_CHARACTERS.sub("_", name).lstrip("/")
    if new != name:
        logger.info("Summary name %s is illegal; using %s instead.", name, new)
    return new


@contextlib.contextmanager
def _summary_scope(name, family, values):
    """Yields (tag, scope): the op is created as ``scope``; its tag is the scope's name."""
    name, family = _clean_tag(name), _clean_tag(family)
    base = name if family is None else "%s/%s" % (family, name)
    with name_scope(base, values=values) as scope:
        tag = scope.rstrip("/")
        yield (tag if family is None else "%s/%s" % (family, tag)), scope


def _collect(tensor, collections):
    for key in [GraphKeys.SUMMARIES] if collections is None else collections:
        tensor.graph.add_to_collection(key, tensor)
    return tensor


def _check_real(dtype, what):
    if not (dtype.is_floating or dtype.is_integer):
        raise TypeError("%s needs a real numeric tensor (float or int types), got %s"
                        % (what, dtype.name))


def _check_rank(shape, ranks, what):
    if shape.ndims is not None and shape.ndims not in ranks:
        raise ValueError("%s needs a tensor of rank %s, got shape %s"
                         % (what, " or ".join(map(str, ranks)), shape))


def _serialized(summary):
    """The kernel output: a string scalar holding the serialized ``Summary``."""
    return np.array(summary.SerializeToString(), dtype=object)


def _flag(op, tag, problem, fate):
    """Logs that summary ``tag`` holds non-finite data and what was written for it."""
    logger.warning("Summary %r (op %s): %s; %s.", tag, op.name, problem, fate)


def _count_nonfinite(x):
    return x.size - int(np.count_nonzero(np.isfinite(x))) if x.dtype.kind in "fc" else 0


def _host(ctx, x):
    return np.asarray(to_host(ctx.xp, x))


# ----------------------------------------------------------------------------------------------
# ScalarSummary
# ----------------------------------------------------------------------------------------------
def _scalar_infer(op):
    x = op._inputs[0]
    _check_real(x.dtype, "tf.summary.scalar")
    if x._shape.ndims not in (None, 0):
        raise ValueError("tf.summary.scalar needs a scalar tensor, got shape %s" % x._shape)
    return _STRING_SCALAR


def _scalar_kernel(op, ctx):
    pb = protos.load().summary_pb2
    tag = op._attrs["tag"]

    def scalar_summary(x):
        x = _host(ctx, x)
        if x.ndim:
            raise errors.InvalidArgumentError(
                None, None, "tf.summary.scalar %r needs a scalar, got shape %s" % (tag, x.shape))
        v = float(x)
        if not math.isfinite(v):
            _flag(op, tag, "the value is %s" % v, "written as it is")
        return _serialized(pb.Summary(value=[pb.Summary.Value(tag=tag, simple_value=v)]))
    return scalar_summary


register_op("ScalarSummary", infer=_scalar_infer, kernel=_scalar_kernel, grad=NOT_DIFFERENTIABLE,
            doc="A Summary with one simple_value: the scalar input, under attr 'tag'.")


def scalar(name, tensor, collections=None, family=None):
    """Outputs a ``Summary`` protocol buffer holding one scalar value.

    Args:
        name: the summary's name; with the enclosing name scope it becomes the tag.
        tensor: a real numeric scalar tensor.
        collections: graph collections to add the summary to (default ``[SUMMARIES]``).
        family: optional prefix of the tag and name, shown as a tab in TensorBoard.

    Returns:
        A string scalar Tensor: the serialized ``Summary``.

    Raises:
        TypeError: ``tensor`` is not of a real numeric type.
        ValueError: ``tensor`` is known not to be a scalar.

    Example:
        >>> s = tf.summary.scalar("loss", loss)   # tag "loss"
    """
    with _summary_scope(name, family, [tensor]) as (tag, scope):
        t = core.convert_to_tensor(tensor)
        return _collect(core.out("ScalarSummary", [t], {"tag": tag}, name=scope), collections)


# ----------------------------------------------------------------------------------------------
# HistogramSummary
# ----------------------------------------------------------------------------------------------
def _histogram_infer(op):
    _check_real(op._inputs[0].dtype, "tf.summary.histogram")
    return _STRING_SCALAR


def _histogram_kernel(op, ctx):
    pb = protos.load().summary_pb2
    tag = op._attrs["tag"]

    def histogram_summary(values):
        v = _host(ctx, values)
        stats, limits, counts = encoders.histogram_buckets(v)
        bad = _count_nonfinite(v)
        if bad:
            _flag(op, tag, "%d of %d values are NaN or Inf" % (bad, v.size),
                  "written with sum NaN/Inf; NaN in no bucket, Inf in the outermost ones")
        histo = pb.HistogramProto(bucket_limit=limits.tolist(), bucket=counts.tolist(), **stats)
        return _serialized(pb.Summary(value=[pb.Summary.Value(tag=tag, histo=histo)]))
    return histogram_summary


register_op("HistogramSummary", infer=_histogram_infer, kernel=_histogram_kernel,
            grad=NOT_DIFFERENTIABLE,
            doc="A Summary with a histogram of the input in TF's default buckets.")


def histogram(name, values, collections=None, family=None):
    """Outputs a ``Summary`` protocol buffer with a histogram of ``values``.

    The buckets are TensorFlow's (exponential, 10% wide), so TensorBoard's
    distribution and histogram dashboards show them as for TF.

    Args:
        name: the summary's name (the tag, with the name scope).
        values: a real numeric tensor of any shape.
        collections: graph collections to add the summary to (default ``[SUMMARIES]``).
        family: optional tag prefix (a TensorBoard tab).

    Returns:
        A string scalar Tensor: the serialized ``Summary``.

    Example:
        >>> tf.summary.histogram("weights", w)
    """
    with _summary_scope(name, family, [values]) as (tag, scope):
        t = core.convert_to_tensor(values)
        return _collect(core.out("HistogramSummary", [t], {"tag": tag}, name=scope), collections)


# ----------------------------------------------------------------------------------------------
# ImageSummary
# ----------------------------------------------------------------------------------------------
_IMAGE_DTYPES = (dtypes.uint8, dtypes.float16, dtypes.float32, dtypes.float64)


def _check_image_shape(shape, what="tf.summary.image"):
    _check_rank(shape, (4,), what)
    if shape.ndims is not None:
        c = shape.as_tuple()[-1]
        if c is not None and c not in (1, 3, 4):
            raise ValueError("%s needs images [batch, height, width, channels] with 1, 3 or 4 "
                             "channels, got shape %s" % (what, shape))


def _image_infer(op):
    x = op._inputs[0]
    if x.dtype not in _IMAGE_DTYPES:
        raise TypeError("tf.summary.image needs uint8, float16, float32 or float64 images, got %s"
                        % x.dtype.name)
    _check_image_shape(x._shape)
    return _STRING_SCALAR


def _value_tags(tag, kind, max_outputs, n):
    """TF's per-item tags: ``tag/image`` if max_outputs is 1, else ``tag/image/0``, ..."""
    if max_outputs == 1:
        return ["%s/%s" % (tag, kind)][:n]
    return ["%s/%s/%d" % (tag, kind, i) for i in range(n)]


def _image_kernel(op, ctx):
    pb = protos.load().summary_pb2
    tag, max_images = op._attrs["tag"], op._attrs["max_images"]

    def image_summary(images):
        x = _host(ctx, images)
        try:
            _check_image_shape(TensorShape(x.shape))
        except ValueError as e:
            raise errors.InvalidArgumentError(None, None, str(e)) from None
        x = x[:max_images]
        pixels, bad = encoders.images_to_uint8(x)
        if bad:
            _flag(op, tag, "%d of %d pixels have a NaN or Inf channel" % (bad, pixels[..., 0].size),
                  "those pixels are written in TF's bad color (opaque red)")
        values = [pb.Summary.Value(tag=t, image=pb.Summary.Image(
            height=img.shape[0], width=img.shape[1], colorspace=img.shape[2],
            encoded_image_string=encoders.encode_png(img)))
            for t, img in zip(_value_tags(tag, "image", max_images, len(pixels)), pixels)]
        return _serialized(pb.Summary(value=values))
    return image_summary


register_op("ImageSummary", infer=_image_infer, kernel=_image_kernel, grad=NOT_DIFFERENTIABLE,
            doc="A Summary with up to 'max_images' PNG-encoded images of a [b, h, w, c] batch.")


def image(name, tensor, max_outputs=3, collections=None, family=None):
    """Outputs a ``Summary`` protocol buffer with images, PNG-encoded.

    ``tensor`` is ``[batch, height, width, channels]`` with 1 (grayscale), 3 (RGB) or
    4 (RGBA) channels. uint8 images are written as they are; float images are scaled
    per image as TF does (non-negative images so the largest value is 255; others so
    0 maps to 128 and the largest magnitude to 127 away from it). Up to
    ``max_outputs`` images are written, tagged ``tag/image`` (``max_outputs == 1``)
    or ``tag/image/0``, ``tag/image/1``, ...

    Args:
        name: the summary's name (the tag, with the name scope).
        tensor: a 4-D uint8 or float tensor.
        max_outputs: most images to write.
        collections: graph collections to add the summary to (default ``[SUMMARIES]``).
        family: optional tag prefix (a TensorBoard tab).

    Returns:
        A string scalar Tensor: the serialized ``Summary``.

    Raises:
        TypeError: unsupported dtype.
        ValueError: ``tensor`` is known not to be 4-D with 1, 3 or 4 channels, or
            ``max_outputs`` is not positive.

    Example:
        >>> tf.summary.image("inputs", tf.reshape(x, [-1, 28, 28, 1]), max_outputs=4)
    """
    max_outputs = int(max_outputs)
    if max_outputs < 1:
        raise ValueError("max_outputs must be positive, got %d" % max_outputs)
    with _summary_scope(name, family, [tensor]) as (tag, scope):
        t = core.convert_to_tensor(tensor)
        return _collect(core.out("ImageSummary", [t], {"tag": tag, "max_images": max_outputs},
                                 name=scope), collections)


# ----------------------------------------------------------------------------------------------
# AudioSummaryV2
# ----------------------------------------------------------------------------------------------
def _audio_infer(op):
    x, rate = op._inputs
    if x.dtype is not dtypes.float32:
        raise TypeError("tf.summary.audio needs float32 samples, got %s" % x.dtype.name)
    _check_rank(x._shape, (2, 3), "tf.summary.audio")
    _check_rank(rate._shape, (0,), "tf.summary.audio's sample_rate")
    return _STRING_SCALAR


def _audio_kernel(op, ctx):
    pb = protos.load().summary_pb2
    tag, max_outputs = op._attrs["tag"], op._attrs["max_outputs"]

    def audio_summary(samples, sample_rate):
        x, rate = _host(ctx, samples), float(_host(ctx, sample_rate))
        if x.ndim not in (2, 3):
            raise errors.InvalidArgumentError(
                None, None, "tf.summary.audio %r needs [batch, frames] or [batch, frames, "
                "channels] samples, got shape %s" % (tag, x.shape))
        if not rate >= 1:
            raise errors.InvalidArgumentError(
                None, None, "tf.summary.audio %r: sample_rate must be at least 1 Hz, got %s"
                % (tag, rate))
        x = x.reshape(x.shape + (1,) * (3 - x.ndim))[:max_outputs]
        values, bad = [], 0
        for t, clip in zip(_value_tags(tag, "audio", max_outputs, len(x)), x):
            wav, nan = encoders.encode_wav(clip, rate)
            bad += nan
            values.append(pb.Summary.Value(tag=t, audio=pb.Summary.Audio(
                sample_rate=rate, num_channels=clip.shape[1], length_frames=clip.shape[0],
                encoded_audio_string=wav, content_type="audio/wav")))
        if bad:
            _flag(op, tag, "%d of %d samples are NaN" % (bad, x.size), "written as silence (0)")
        return _serialized(pb.Summary(value=values))
    return audio_summary


register_op("AudioSummaryV2", infer=_audio_infer, kernel=_audio_kernel, grad=NOT_DIFFERENTIABLE,
            doc="A Summary with up to 'max_outputs' WAV-encoded clips of a float batch.")


def audio(name, tensor, sample_rate, max_outputs=3, collections=None, family=None):
    """Outputs a ``Summary`` protocol buffer with audio clips, as 16-bit PCM WAV.

    Args:
        name: the summary's name (the tag, with the name scope).
        tensor: float32 samples in [-1, 1], ``[batch, frames]`` or
            ``[batch, frames, channels]``.
        sample_rate: samples per second (a number or a float32 scalar tensor).
        max_outputs: most clips to write, tagged ``tag/audio`` (``max_outputs == 1``)
            or ``tag/audio/0``, ``tag/audio/1``, ...
        collections: graph collections to add the summary to (default ``[SUMMARIES]``).
        family: optional tag prefix (a TensorBoard tab).

    Returns:
        A string scalar Tensor: the serialized ``Summary``.

    Example:
        >>> tf.summary.audio("speech", waveforms, sample_rate=16000)
    """
    max_outputs = int(max_outputs)
    if max_outputs < 1:
        raise ValueError("max_outputs must be positive, got %d" % max_outputs)
    with _summary_scope(name, family, [tensor]) as (tag, scope):
        t = core.convert_to_tensor(tensor)
        rate = core.convert_to_tensor(sample_rate, dtype=dtypes.float32, name="sample_rate")
        return _collect(core.out("AudioSummaryV2", [t, rate],
                                 {"tag": tag, "max_outputs": max_outputs}, name=scope),
                        collections)


# ----------------------------------------------------------------------------------------------
# TensorSummaryV2 (and text, which is a tensor summary for the text plugin)
# ----------------------------------------------------------------------------------------------
def _tensor_summary_infer(op):
    if op._inputs[0].dtype.np is None:
        raise TypeError("tf.summary.tensor_summary cannot write %s tensors"
                        % op._inputs[0].dtype.name)
    return _STRING_SCALAR


def _tensor_summary_kernel(op, ctx):
    pb = protos.load().summary_pb2
    tag = op._attrs["tag"]
    metadata = pb.SummaryMetadata.FromString(op._attrs["serialized_summary_metadata"])

    def tensor_summary_(x):
        x = _host(ctx, x)
        bad = _count_nonfinite(x)
        if bad:
            _flag(op, tag, "%d of %d values are NaN or Inf" % (bad, x.size), "written as they are")
        value = pb.Summary.Value(tag=tag, metadata=metadata, tensor=protos.tensor_proto(x))
        return _serialized(pb.Summary(value=[value]))
    return tensor_summary_


register_op("TensorSummaryV2", infer=_tensor_summary_infer, kernel=_tensor_summary_kernel,
            grad=NOT_DIFFERENTIABLE,
            doc="A Summary holding the input as a TensorProto, with serialized SummaryMetadata.")


def _metadata_bytes(summary_metadata, **fields):
    """Serialized SummaryMetadata from a proto or bytes, with the non-None ``fields`` set."""
    pb = protos.load().summary_pb2
    if summary_metadata is None:
        md = pb.SummaryMetadata()
    elif isinstance(summary_metadata, bytes):
        md = pb.SummaryMetadata.FromString(summary_metadata)
    elif isinstance(summary_metadata, pb.SummaryMetadata):
        md = pb.SummaryMetadata()
        md.CopyFrom(summary_metadata)
    else:
        raise TypeError("summary_metadata must be a tf.SummaryMetadata proto or its bytes, got %s"
                        % type(summary_metadata).__name__)
    for key, value in fields.items():
        if value is not None:
            setattr(md, key, value)
    return md.SerializeToString()


def tensor_summary(name, tensor, summary_description=None, collections=None,
                   summary_metadata=None, family=None, display_name=None):
    """Outputs a ``Summary`` protocol buffer holding a whole tensor (a ``TensorProto``).

    Args:
        name: the summary's name (the tag, with the name scope).
        tensor: a tensor of any dtype and shape.
        summary_description: text shown with the summary.
        collections: graph collections to add the summary to (default ``[SUMMARIES]``).
        summary_metadata: a ``tf.SummaryMetadata`` (or its bytes), e.g. naming a plugin.
        family: optional tag prefix (a TensorBoard tab).
        display_name: the name TensorBoard shows.

    Returns:
        A string scalar Tensor: the serialized ``Summary``.

    Example:
        >>> tf.summary.tensor_summary("confusion", confusion_matrix)
    """
    md = _metadata_bytes(summary_metadata, summary_description=summary_description,
                         display_name=display_name)
    with _summary_scope(name, family, [tensor]) as (tag, scope):
        t = core.convert_to_tensor(tensor)
        return _collect(core.out("TensorSummaryV2", [t],
                                 {"tag": tag, "serialized_summary_metadata": md}, name=scope),
                        collections)


def text(name, tensor, collections=None):
    """Outputs a ``Summary`` protocol buffer with text for TensorBoard's Text dashboard.

    Args:
        name: the summary's name (the tag, with the name scope).
        tensor: a string tensor (Markdown is rendered; 1-D and 2-D tensors as tables).
        collections: graph collections to add the summary to (default ``[SUMMARIES]``).

    Returns:
        A string scalar Tensor: the serialized ``Summary``.

    Raises:
        ValueError: ``tensor`` is not a string tensor.

    Example:
        >>> tf.summary.text("config", tf.constant("lr = 0.1, batch = 64"))
    """
    t = core.convert_to_tensor(tensor)
    if t.dtype is not dtypes.string:
        raise ValueError("Expected tensor %s to have dtype string, got %s" % (t.name, t.dtype))
    pb = protos.load().summary_pb2
    md = pb.SummaryMetadata(plugin_data=pb.SummaryMetadata.PluginData(plugin_name="text"))
    return tensor_summary(name, t, summary_metadata=md, collections=collections)


# ----------------------------------------------------------------------------------------------
# MergeSummary
# ----------------------------------------------------------------------------------------------
def _merge_infer(op):
    if not op._inputs:
        raise ValueError("tf.summary.merge needs at least one summary")
    for t in op._inputs:
        if t.dtype is not dtypes.string:
            raise TypeError("tf.summary.merge needs string tensors (serialized summaries), "
                            "got %s of dtype %s" % (t.name, t.dtype.name))
    return _STRING_SCALAR


def _merge_kernel(op, ctx):
    pb = protos.load().summary_pb2
    decode_error = protos.load().DecodeError

    def merge_summary(*inputs):
        merged = pb.Summary()
        tags = set()
        for x in inputs:
            for data in _host(ctx, x).reshape(-1):
                try:
                    summary = pb.Summary.FromString(data)
                except (decode_error, TypeError):
                    raise errors.InvalidArgumentError(
                        None, None, "Could not parse one of the summary inputs") from None
                for value in summary.value:
                    if value.tag and value.tag in tags:
                        raise errors.InvalidArgumentError(
                            None, None, "Duplicate tag %s found in summary inputs" % value.tag)
                    tags.add(value.tag)
                merged.value.extend(summary.value)
        return _serialized(merged)
    return merge_summary


register_op("MergeSummary", infer=_merge_infer, kernel=_merge_kernel, grad=NOT_DIFFERENTIABLE,
            doc="One Summary with the values of all input Summaries (tags must be unique).")


def merge(inputs, collections=None, name=None):
    """Merges summaries into one ``Summary`` protocol buffer.

    Args:
        inputs: string tensors of serialized ``Summary`` protos (summary ops' outputs).
        collections: graph collections to add the merged summary to (default: none).
        name: name of the op.

    Returns:
        A string scalar Tensor. Running it raises ``InvalidArgumentError`` if two
        inputs use the same tag.

    Example:
        >>> train_summaries = tf.summary.merge([loss_summary, lr_summary])
    """
    with name_scope(name, "Merge", inputs):
        ts = [core.convert_to_tensor(t) for t in inputs]
        return _collect(core.out("MergeSummary", ts, {}, name=name),
                        [] if collections is None else collections)


def merge_all(key=GraphKeys.SUMMARIES, scope=None, name=None):
    """Merges all summaries of the collection ``key`` of the default graph.

    Args:
        key: the collection (default ``GraphKeys.SUMMARIES``).
        scope: a regex; keep only summaries whose names match it.
        name: name of the op.

    Returns:
        A string scalar Tensor of the merged ``Summary``, or None if there are no summaries.
    """
    summaries = get_default_graph().get_collection(key, scope=scope)
    return merge(summaries, name=name) if summaries else None
