"""``tf.image``: the image operations of the TF1 tutorials, with TF 1.15's exact rules.

Images are ``[height, width, channels]`` or batches ``[batch, height, width, channels]``.
Most operations are compositions of array and math ops (flips are ``reverse``, crops are
``slice``, color adjustments are arithmetic on float images), so they have gradients and
show in the graph as what they do. Resizing is one op per method (``ResizeBilinear``,
``ResizeNearestNeighbor``, ``ResizeBicubic``, ``ResizeArea``) whose kernel applies, per
spatial axis, the interpolation TF 1.15 uses:

* coordinates: ``in = out * scale`` with ``scale = in_size / out_size`` (TF1's default,
  ``half_pixel_centers=False``); ``align_corners=True`` uses ``(in - 1) / (out - 1)``;
  ``half_pixel_centers=True`` uses ``(out + 0.5) * scale - 0.5``;
* bilinear: the two neighbours ``floor(in)`` and ``min(floor(in) + 1, in_size - 1)``;
* nearest: ``min(floor(in), in_size - 1)`` (``round`` with ``align_corners``);
* bicubic: Keys' cubic (a = -0.75) with weights from TF's 1024-entry table, borders clamped;
* area: each output pixel averages the input area it covers (partial pixels weighted).

Bilinear, bicubic and area give float32; nearest keeps the dtype. All four have gradients.

Random ops (``random_crop``, ``random_flip_*``, ``random_brightness``, ``random_contrast``)
draw from tfnb's seeded generators: reproducible for a seed, but not TensorFlow's streams.
``decode_png``/``decode_jpeg``/``encode_png``/``encode_jpeg`` use Pillow (``pip install
tfnb[image]``), imported when such an op first runs.

Example:
    >>> distorted = tf.image.random_flip_left_right(tf.random_crop(image, [24, 24, 3]))
    >>> distorted = tf.image.random_brightness(distorted, max_delta=63)
    >>> float_image = tf.image.per_image_standardization(distorted)
"""
import io as _io

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import Tensor, control_dependencies, name_scope
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import TensorShape
from . import array_ops, core, math_ops, random_ops, reduction_ops, slicing_ops
from .core import convert_to_tensor

__all__ = [
    "ResizeMethod", "resize_images", "resize", "resize_bilinear", "resize_nearest_neighbor",
    "resize_bicubic", "resize_area", "resize_image_with_crop_or_pad",
    "resize_with_crop_or_pad", "central_crop", "crop_to_bounding_box", "pad_to_bounding_box",
    "flip_left_right", "flip_up_down", "random_flip_left_right", "random_flip_up_down",
    "transpose_image", "transpose", "rot90", "random_crop", "convert_image_dtype",
    "adjust_brightness", "adjust_contrast", "random_brightness", "random_contrast",
    "per_image_standardization", "rgb_to_grayscale", "grayscale_to_rgb", "rgb_to_hsv",
    "hsv_to_rgb", "adjust_saturation", "random_saturation", "adjust_hue", "random_hue",
    "decode_png", "decode_jpeg", "decode_image", "encode_png", "encode_jpeg", "is_jpeg",
]

_CPU = ("CPU",)


class ResizeMethod:
    """The interpolation of ``resize_images``."""
    BILINEAR = 0
    NEAREST_NEIGHBOR = 1
    BICUBIC = 2
    AREA = 3


_METHOD_OPS = {ResizeMethod.BILINEAR: "ResizeBilinear",
               ResizeMethod.NEAREST_NEIGHBOR: "ResizeNearestNeighbor",
               ResizeMethod.BICUBIC: "ResizeBicubic", ResizeMethod.AREA: "ResizeArea"}
_METHOD_NAMES = {"bilinear": 0, "nearest": 1, "bicubic": 2, "area": 3}


# ----------------------------------------------------------------------------------------------
# Shapes
# ----------------------------------------------------------------------------------------------
def _image(image, name="image"):
    """``image`` as a tensor of rank 3 or 4 (or unknown rank); returns (tensor, is_batch)."""
    image = convert_to_tensor(image, name=name)
    rank = image.shape.ndims
    if rank is not None and rank not in (3, 4):
        raise ValueError("'image' (shape %s) must have either 3 or 4 dimensions." % image.shape)
    if rank is not None and rank == 3 and any(d == 0 for d in image.shape.as_list()):
        raise ValueError("all dims of 'image.shape' must be > 0.")
    return image, rank == 4


def _hw(image):
    """(height, width) as Python ints when known, else tensors."""
    dims = image.shape.as_list() if image.shape.ndims is not None else None
    h_axis = -3
    shape = None
    out = []
    for k in (h_axis, -2):
        d = dims[k] if dims is not None else None
        if d is None:
            if shape is None:
                shape = array_ops.shape(image)
            d = shape[k]
        out.append(d)
    return out


# ----------------------------------------------------------------------------------------------
# Resizing: the interpolation along one axis, as TF 1.15 computes it
# ----------------------------------------------------------------------------------------------
def _scale(in_size, out_size, align_corners):
    if align_corners and out_size > 1:
        return np.float32(in_size - 1) / np.float32(out_size - 1)
    return np.float32(in_size) / np.float32(out_size)


def _coords(in_size, out_size, align_corners, half_pixel, nearest=False):
    scale = _scale(in_size, out_size, align_corners)
    x = np.arange(out_size, dtype=np.float32)
    if half_pixel:
        return ((x + np.float32(0.5)) * scale - (np.float32(0) if nearest else np.float32(0.5)))
    return x * scale


def _bilinear_matrix(in_size, out_size, align_corners, half_pixel):
    c = _coords(in_size, out_size, align_corners, half_pixel)
    fl = np.floor(c)
    lower = np.maximum(fl, 0).astype(np.int64) if half_pixel else fl.astype(np.int64)
    upper = np.minimum(np.ceil(c) if half_pixel else fl + 1, in_size - 1).astype(np.int64)
    lerp = (c - fl).astype(np.float32)
    m = np.zeros((out_size, in_size), np.float32)
    rows = np.arange(out_size)
    np.add.at(m, (rows, lower), np.float32(1) - lerp)
    np.add.at(m, (rows, upper), lerp)
    return m


def _cubic_table(a=-0.75, size=1024):
    x = np.arange(size + 1, dtype=np.float64) / size
    t = np.empty((size + 1) * 2, np.float32)
    t[0::2] = ((a + 2) * x - (a + 3)) * x * x + 1
    x1 = x + 1
    t[1::2] = ((a * x1 - 5 * a) * x1 + 8 * a) * x1 - 4 * a
    return t


_CUBIC = _cubic_table()


def _bicubic_matrix(in_size, out_size, align_corners, half_pixel):
    c = _coords(in_size, out_size, align_corners, half_pixel)
    m = np.zeros((out_size, in_size), np.float32)
    for i, x in enumerate(c):
        loc = int(np.floor(x))
        delta = np.float32(x - loc)
        if half_pixel:  # Keys' weights computed exactly, out-of-range taps dropped
            d = float(delta)
            ws = [_keys(1 + d), _keys(d), _keys(1 - d), _keys(2 - d)]
            idx = [loc - 1, loc, loc + 1, loc + 2]
            kept = [(j, w) for j, w in zip(idx, ws) if 0 <= j < in_size]
            total = sum(w for _, w in kept)
            for j, w in kept:
                m[i, j] += np.float32(w / total)
            continue
        off = int(np.rint(delta * 1024))
        ws = [_CUBIC[off * 2 + 1], _CUBIC[off * 2], _CUBIC[(1024 - off) * 2],
              _CUBIC[(1024 - off) * 2 + 1]]
        for k, w in enumerate(ws):
            j = min(max(loc - 1 + k, 0), in_size - 1)
            m[i, j] += w
    return m


def _keys(x, a=-0.75):
    x = abs(x)
    if x <= 1:
        return ((a + 2) * x - (a + 3)) * x * x + 1
    if x < 2:
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return 0.0


def _area_matrix(in_size, out_size, align_corners, half_pixel):
    scale = float(_scale(in_size, out_size, align_corners))
    m = np.zeros((out_size, in_size), np.float64)
    for i in range(out_size):
        lo, hi = i * scale, (i + 1) * scale
        for j in range(int(np.floor(lo)), int(np.ceil(hi))):
            w = min(j + 1, hi) - max(j, lo)
            m[i, min(max(j, 0), in_size - 1)] += w
    return (m / scale).astype(np.float32)


def _nearest_index(in_size, out_size, align_corners, half_pixel):
    c = _coords(in_size, out_size, align_corners, half_pixel, nearest=True)
    idx = np.round(c) if align_corners else np.floor(c)
    return np.clip(idx.astype(np.int64), 0, in_size - 1)


_MATRICES = {"ResizeBilinear": _bilinear_matrix, "ResizeBicubic": _bicubic_matrix,
             "ResizeArea": _area_matrix}
_matrix_cache = {}


def _axis_map(op_type, in_size, out_size, align_corners, half_pixel):
    key = (op_type, in_size, out_size, align_corners, half_pixel)
    hit = _matrix_cache.get(key)
    if hit is None:
        fn = _MATRICES.get(op_type, _nearest_index)
        hit = fn(in_size, out_size, align_corners, half_pixel)
        if len(_matrix_cache) > 512:
            _matrix_cache.clear()
        _matrix_cache[key] = hit
    return hit


def _resize_size(size, op_name):
    s = np.asarray(size).reshape(-1)
    if s.shape != (2,):
        raise errors.InvalidArgumentError(None, None, "%s: size must be a 1-D int32 Tensor of 2 "
                                          "elements: new_height, new_width" % op_name)
    h, w = int(s[0]), int(s[1])
    if h <= 0 or w <= 0:
        raise errors.InvalidArgumentError(None, None, "%s: output dimensions must be positive, "
                                          "got %d x %d" % (op_name, h, w))
    return h, w


def _resize_kernel(op, ctx):
    op_type = op.type
    ac = bool(op._attrs.get("align_corners", False))
    hp = bool(op._attrs.get("half_pixel_centers", False))
    if ac and hp:
        raise errors.InvalidArgumentError(None, None, "If half_pixel_centers is True, "
                                          "align_corners must be False.")
    xp = ctx.xp

    def resize(images, size):
        h, w = _resize_size(size, op_type)
        in_h, in_w = images.shape[1], images.shape[2]
        if in_h == 0 or in_w == 0:
            raise errors.InvalidArgumentError(None, None, "%s: input image must be of non-zero "
                                              "size" % op_type)
        my = _axis_map(op_type, in_h, h, ac, hp)
        mx = _axis_map(op_type, in_w, w, ac, hp)
        if op_type == "ResizeNearestNeighbor":
            return images[:, xp.asarray(my)][:, :, xp.asarray(mx)]
        x = images.astype(np.float32, copy=False)
        out = xp.einsum("hi,nijc->nhjc", xp.asarray(my), x)
        return xp.einsum("wj,nhjc->nhwc", xp.asarray(mx), out).astype(np.float32, copy=False)
    return resize


def _resize_grad_kernel(op, ctx):
    fwd = op._attrs["forward"]
    ac = bool(op._attrs.get("align_corners", False))
    hp = bool(op._attrs.get("half_pixel_centers", False))
    xp = ctx.xp

    def resize_grad(grads, original):
        in_h, in_w = original.shape[1], original.shape[2]
        h, w = grads.shape[1], grads.shape[2]
        my = _axis_map(fwd, in_h, h, ac, hp)
        mx = _axis_map(fwd, in_w, w, ac, hp)
        g = grads.astype(np.float32, copy=False)
        if fwd == "ResizeNearestNeighbor":
            out = xp.zeros(original.shape[:1] + (in_h, in_w) + original.shape[3:],
                           dtype=grads.dtype)
            iy, ix = np.meshgrid(my, mx, indexing="ij")
            xp.add.at(out, (slice(None), xp.asarray(iy), xp.asarray(ix)), grads)
            return out
        out = xp.einsum("hi,nhwc->niwc", xp.asarray(my), g)
        out = xp.einsum("wj,niwc->nijc", xp.asarray(mx), out)
        return out.astype(original.dtype if original.dtype.kind == "f" else np.float32,
                          copy=False)
    return resize_grad


def _resize_infer(op):
    images, size = op._inputs
    s = images.shape.with_rank(4)
    if size.dtype not in (dtypes.int32, dtypes.int64):
        raise TypeError("size must be an int32 tensor, got %s" % size.dtype.name)
    size.shape.with_rank(1)
    v = core.constant_value(size)
    hw = [None, None] if v is None else [int(x) for x in np.asarray(v).reshape(-1)]
    if len(hw) != 2:
        raise ValueError("size must have 2 elements: new_height, new_width")
    dt = images.dtype if op.type == "ResizeNearestNeighbor" else dtypes.float32
    if not (images.dtype.is_integer or images.dtype.is_floating):
        raise TypeError("%s does not support images of dtype %s" % (op.type, images.dtype.name))
    return [(dt, TensorShape([s[0].value, hw[0], hw[1], s[3].value]))]


def _resize_grad(op, grad):
    g = core.op("ResizeGrad", [grad, op._inputs[0]],
                {"forward": op.type, "align_corners": op._attrs.get("align_corners", False),
                 "half_pixel_centers": op._attrs.get("half_pixel_centers", False)})._outputs[0]
    if not op._inputs[0].dtype.is_floating:
        return [None, None]
    return [math_ops.cast(g, op._inputs[0].dtype) if g.dtype is not op._inputs[0].dtype
            else g, None]


def _resize_grad_grad(op, g):
    fwd = op._attrs["forward"]
    size = array_ops.shape(op._inputs[0])[1:3]
    return [core.op(fwd, [g, size], {"align_corners": op._attrs["align_corners"],
                                     "half_pixel_centers": op._attrs["half_pixel_centers"]}
                    )._outputs[0], None]


for _type in ("ResizeBilinear", "ResizeNearestNeighbor", "ResizeBicubic", "ResizeArea"):
    register_op(_type, infer=_resize_infer, kernel=_resize_kernel, grad=_resize_grad,
                device_types=_CPU, doc="Resizes a batch of images (%s)." % _type[6:])
register_op("ResizeGrad",
            infer=lambda op: [(op._inputs[1].dtype if op._inputs[1].dtype.is_floating
                               else dtypes.float32, op._inputs[1].shape)],
            kernel=_resize_grad_kernel, grad=_resize_grad_grad, device_types=_CPU,
            doc="The gradient of a resize with respect to its images (the adjoint map).")


def _size_tensor(size):
    if isinstance(size, Tensor):
        return size if size.dtype is dtypes.int32 else math_ops.cast(size, dtypes.int32)
    s = list(size) if not isinstance(size, TensorShape) else size.as_list()
    if len(s) != 2:
        raise ValueError("'size' must be a 1-D Tensor of 2 elements: new_height, new_width")
    return convert_to_tensor(s, dtype=dtypes.int32, name="size")


def _resize_op(op_type, images, size, align_corners, half_pixel_centers, name):
    images = convert_to_tensor(images, name="images")
    with name_scope(name, op_type, [images]):
        return core.out(op_type, [images, _size_tensor(size)],
                        {"align_corners": bool(align_corners),
                         "half_pixel_centers": bool(half_pixel_centers)}, name=op_type)


def resize_bilinear(images, size, align_corners=False, name=None, half_pixel_centers=False):
    """Bilinear resize of a batch ``[n, h, w, c]`` to ``size`` (float32 result)."""
    return _resize_op("ResizeBilinear", images, size, align_corners, half_pixel_centers, name)


def resize_nearest_neighbor(images, size, align_corners=False, name=None,
                            half_pixel_centers=False):
    """Nearest-neighbour resize of a batch (the dtype is kept)."""
    return _resize_op("ResizeNearestNeighbor", images, size, align_corners, half_pixel_centers,
                      name)


def resize_bicubic(images, size, align_corners=False, name=None, half_pixel_centers=False):
    """Bicubic resize of a batch (Keys' kernel, a = -0.75; float32 result)."""
    return _resize_op("ResizeBicubic", images, size, align_corners, half_pixel_centers, name)


def resize_area(images, size, align_corners=False, name=None):
    """Area-averaging resize of a batch (float32 result)."""
    return _resize_op("ResizeArea", images, size, align_corners, False, name)


def resize_images(images, size, method=ResizeMethod.BILINEAR, align_corners=False,
                  preserve_aspect_ratio=False, name=None):
    """Resizes ``images`` (3-D or 4-D) to ``size = [new_height, new_width]`` (TF1).

    Returns float32 unless ``method`` is NEAREST_NEIGHBOR (which keeps the dtype); an image
    already of the requested (static) size is returned unchanged, as TF1 does.

    Raises:
        ValueError: a bad rank or size; an unknown ``method``.
    """
    if isinstance(method, str):
        method = _METHOD_NAMES.get(method.lower(), method)
    if method not in _METHOD_OPS:
        raise ValueError("Resize method is not implemented: %r" % (method,))
    with name_scope(name, "resize_images", [images, size]):
        images, batched = _image(images, "images")
        if images.shape.ndims is None:
            raise ValueError("'images' contains no shape.")
        if not batched:
            images = array_ops.expand_dims(images, 0)
        in_h, in_w = images.shape.as_list()[1:3]
        size_t = _size_tensor(size)
        size_v = core.constant_value(size_t)
        new_h = new_w = None
        if size_v is not None:
            new_h, new_w = [int(x) for x in np.asarray(size_v).reshape(-1)]
        if preserve_aspect_ratio:
            if None in (in_h, in_w, new_h, new_w):
                raise ValueError("preserve_aspect_ratio needs static image and target sizes")
            scale = min(new_h / in_h, new_w / in_w)
            new_h, new_w = int(round(in_h * scale)), int(round(in_w * scale))
            size_t = convert_to_tensor([new_h, new_w], dtype=dtypes.int32)
        if new_h is not None and (new_h, new_w) == (in_h, in_w):
            out = images
        else:
            out = core.out(_METHOD_OPS[method], [images, size_t],
                           {"align_corners": bool(align_corners), "half_pixel_centers": False})
        if not batched:
            out = array_ops.squeeze(out, [0])
        return out


def resize(images, size, method=ResizeMethod.BILINEAR, align_corners=False,
           preserve_aspect_ratio=False, name=None):
    """``tf.image.resize`` (TF 1.15's alias of ``resize_images``)."""
    return resize_images(images, size, method, align_corners, preserve_aspect_ratio, name)


# ----------------------------------------------------------------------------------------------
# Crops, pads, flips, rotations
# ----------------------------------------------------------------------------------------------
def _check(cond, message):
    if cond is False:
        raise ValueError(message)


def _static_ge(a, b):
    if isinstance(a, int) and isinstance(b, int):
        return a >= b
    return None


def crop_to_bounding_box(image, offset_height, offset_width, target_height, target_width):
    """The window ``[offset_height : offset_height + target_height, offset_width : ...]``.

    Raises:
        ValueError: statically known offsets/sizes outside the image.
    """
    with name_scope(None, "crop_to_bounding_box", [image]):
        image, batched = _image(image)
        if not batched and image.shape.ndims is not None:
            image = array_ops.expand_dims(image, 0)
        h, w = _hw(image)
        for v, what in ((offset_height, "offset_height"), (offset_width, "offset_width")):
            if isinstance(v, int) and v < 0:
                raise ValueError("%s must be >= 0." % what)
        for v, what in ((target_height, "target_height"), (target_width, "target_width")):
            if isinstance(v, int) and v <= 0:
                raise ValueError("%s must be > 0." % what)
        _check(_static_ge(h, _add(offset_height, target_height)),
               "height must be >= target + offset.")
        _check(_static_ge(w, _add(offset_width, target_width)),
               "width must be >= target + offset.")
        begin = array_ops.stack([0, offset_height, offset_width, 0]) if _any_tensor(
            offset_height, offset_width) else [0, offset_height, offset_width, 0]
        size = array_ops.stack([-1, target_height, target_width, -1]) if _any_tensor(
            target_height, target_width) else [-1, target_height, target_width, -1]
        out = slicing_ops.slice_(image, begin, size)
        return out if batched else array_ops.squeeze(out, [0])


def _add(a, b):
    return a + b if isinstance(a, int) and isinstance(b, int) else None


def _any_tensor(*xs):
    return any(isinstance(x, Tensor) for x in xs)


def pad_to_bounding_box(image, offset_height, offset_width, target_height, target_width):
    """``image`` placed at (offset_height, offset_width) in a zero image of the target size."""
    with name_scope(None, "pad_to_bounding_box", [image]):
        image, batched = _image(image)
        if not batched:
            image = array_ops.expand_dims(image, 0)
        h, w = _hw(image)
        after_h = target_height - offset_height - h
        after_w = target_width - offset_width - w
        for v, what in ((offset_height, "offset_height"), (offset_width, "offset_width")):
            if isinstance(v, int) and v < 0:
                raise ValueError("%s must be >= 0" % what)
        if isinstance(after_h, int) and after_h < 0:
            raise ValueError("height must be <= target - offset")
        if isinstance(after_w, int) and after_w < 0:
            raise ValueError("width must be <= target - offset")
        pads = [[0, 0], [offset_height, after_h], [offset_width, after_w], [0, 0]]
        if any(isinstance(x, Tensor) for row in pads for x in row):
            pads = array_ops.stack([array_ops.stack([math_ops.cast(x, dtypes.int32)
                                                     if isinstance(x, Tensor) else x
                                                     for x in row]) for row in pads])
        out = array_ops.pad(image, pads)
        return out if batched else array_ops.squeeze(out, [0])


def resize_image_with_crop_or_pad(image, target_height, target_width):
    """Crops (centrally) and/or pads (with zeros, centrally) to the target size."""
    with name_scope(None, "resize_image_with_crop_or_pad", [image]):
        image, _ = _image(image)
        if isinstance(target_height, int) and target_height <= 0:
            raise ValueError("target_height must be > 0.")
        if isinstance(target_width, int) and target_width <= 0:
            raise ValueError("target_width must be > 0.")
        h, w = _hw(image)

        def mx(a, b):
            return max(a, b) if isinstance(a, int) and isinstance(b, int) else \
                math_ops.maximum(a, b)

        def mn(a, b):
            return min(a, b) if isinstance(a, int) and isinstance(b, int) else \
                math_ops.minimum(a, b)

        diff_w, diff_h = target_width - w, target_height - h
        crop_top = mx(-diff_h // 2 if isinstance(diff_h, int) else (0 - diff_h) // 2, 0)
        crop_left = mx(-diff_w // 2 if isinstance(diff_w, int) else (0 - diff_w) // 2, 0)
        pad_top = mx(diff_h // 2, 0)
        pad_left = mx(diff_w // 2, 0)
        cropped = crop_to_bounding_box(image, crop_top, crop_left,
                                       mn(target_height, h), mn(target_width, w))
        return pad_to_bounding_box(cropped, pad_top, pad_left, target_height, target_width)


resize_with_crop_or_pad = resize_image_with_crop_or_pad


def central_crop(image, central_fraction):
    """The central ``central_fraction`` (in (0, 1]) of each image, as TF1 rounds it."""
    with name_scope(None, "central_crop", [image]):
        image, batched = _image(image)
        if central_fraction <= 0.0 or central_fraction > 1.0:
            raise ValueError("central_fraction must be within (0, 1]")
        if central_fraction == 1.0:
            return image
        h, w = _hw(image)
        if not (isinstance(h, int) and isinstance(w, int)):
            raise ValueError("central_crop needs static height and width")
        start_h = int((h - h * central_fraction) / 2)
        start_w = int((w - w * central_fraction) / 2)
        return crop_to_bounding_box(image, start_h, start_w, h - 2 * start_h, w - 2 * start_w)


def _spatial_axis(image, batched, k):
    return k + 1 if batched else k


def flip_left_right(image):
    """Mirrors the width axis."""
    with name_scope(None, "flip_left_right", [image]):
        image, batched = _image(image)
        return slicing_ops.reverse(image, [_spatial_axis(image, batched, 1)])


def flip_up_down(image):
    """Mirrors the height axis."""
    with name_scope(None, "flip_up_down", [image]):
        image, batched = _image(image)
        return slicing_ops.reverse(image, [_spatial_axis(image, batched, 0)])


def transpose_image(image):
    """Swaps height and width."""
    with name_scope(None, "transpose_image", [image]):
        image, batched = _image(image)
        return array_ops.transpose(image, [0, 2, 1, 3] if batched else [1, 0, 2])


transpose = transpose_image


def rot90(image, k=1, name=None):
    """Rotates by 90 degrees counter-clockwise ``k`` times."""
    with name_scope(name, "rot90", [image]):
        image, batched = _image(image)
        k = int(k) % 4
        if k == 0:
            return image
        if k == 2:
            return flip_up_down(flip_left_right(image))
        if k == 1:
            return flip_up_down(transpose_image(image))
        return transpose_image(flip_up_down(image))


def _random_flip(image, seed, axis, scope):
    with name_scope(None, scope, [image]):
        image, batched = _image(image)
        if not batched:
            u = random_ops.random_uniform([], 0, 1.0, seed=seed)
            flip = math_ops.less(u, 0.5)
            return math_ops.where(flip, slicing_ops.reverse(image, [axis]), image)
        n = array_ops.shape(image)[0]
        u = random_ops.random_uniform(array_ops.expand_dims(n, 0), 0, 1.0, seed=seed)
        flip = math_ops.less(u, 0.5)
        mask = array_ops.reshape(flip, array_ops.stack([n, 1, 1, 1]))
        mask = math_ops.logical_and(mask, array_ops.ones_like(image, dtype=dtypes.bool_))
        return math_ops.where(mask, slicing_ops.reverse(image, [axis + 1]), image)


def random_flip_left_right(image, seed=None):
    """Mirrors the width axis with probability 1/2 (each image of a batch on its own)."""
    return _random_flip(image, seed, 1, "random_flip_left_right")


def random_flip_up_down(image, seed=None):
    """Mirrors the height axis with probability 1/2 (each image of a batch on its own)."""
    return _random_flip(image, seed, 0, "random_flip_up_down")


def random_crop(value, size, seed=None, name=None):
    """A window of shape ``size`` at a uniformly random offset of ``value``.

    Raises:
        ValueError: ``size`` larger than ``value`` (statically known);
        InvalidArgumentError at run time otherwise.
    """
    from .check_ops import Assert
    with name_scope(name, "random_crop", [value, size]):
        value = convert_to_tensor(value, name="value")
        size = convert_to_tensor(size, dtype=dtypes.int32, name="size")
        shape = array_ops.shape(value)
        sv, vs = core.constant_value(size), value.shape
        if sv is not None and vs.ndims is not None:
            sv = np.asarray(sv).reshape(-1)
            if len(sv) != vs.ndims:
                raise ValueError("size %s must have as many entries as value has dimensions (%d)"
                                 % (list(sv), vs.ndims))
            for d, s in zip(vs.as_list(), sv):
                if d is not None and s > d:
                    raise ValueError("Need value.shape >= size, got %s and %s"
                                     % (vs, list(sv)))
        check = Assert(reduction_ops.reduce_all(math_ops.greater_equal(shape, size)),
                       ["Need value.shape >= size, got ", shape, size], summarize=1000)
        with control_dependencies([check]):
            shape = array_ops.identity(shape)
        limit = shape - size + 1
        offset = random_ops.random_uniform(array_ops.shape(shape), dtype=dtypes.int32,
                                           maxval=np.iinfo(np.int32).max, seed=seed) % limit
        out = slicing_ops.slice_(value, offset, size)
        if sv is not None:
            out.set_shape([int(s) for s in sv])
        return out


# ----------------------------------------------------------------------------------------------
# dtypes and color
# ----------------------------------------------------------------------------------------------
def _dtype_max(dt):
    return np.iinfo(dt.np).max if dt.is_integer else 1.0


def convert_image_dtype(image, dtype, saturate=False, name=None):
    """Converts between integer images (0..max of the type) and float images (0..1).

    Integer -> integer rescales by the ratio of the maxima (``//`` when narrowing); float ->
    integer multiplies by ``max + 0.5`` and truncates (``saturate`` clips first); integer ->
    float multiplies by ``1 / max``. Same dtype: returned unchanged.
    """
    image = convert_to_tensor(image, name="image")
    dtype = dtypes.as_dtype(dtype)
    if not (image.dtype.is_floating or image.dtype.is_integer) or not (
            dtype.is_floating or dtype.is_integer):
        raise AttributeError("Image and dtype must be integer or floating point, got %s -> %s"
                             % (image.dtype.name, dtype.name))
    if dtype is image.dtype:
        return array_ops.identity(image, name=name)
    with name_scope(name, "convert_image", [image]):
        src = image.dtype
        if src.is_integer and dtype.is_integer:
            scale_in, scale_out = _dtype_max(src), _dtype_max(dtype)
            if scale_in > scale_out:
                scale = (int(scale_in) + 1) // (int(scale_out) + 1)
                scaled = math_ops.floordiv(image, convert_to_tensor(scale, dtype=src))
                return math_ops.saturate_cast(scaled, dtype) if saturate else \
                    math_ops.cast(scaled, dtype)
            cast = math_ops.saturate_cast(image, dtype) if saturate else \
                math_ops.cast(image, dtype)
            scale = (int(scale_out) + 1) // (int(scale_in) + 1)
            return math_ops.multiply(cast, convert_to_tensor(scale, dtype=dtype))
        if src.is_floating and dtype.is_floating:
            return math_ops.cast(image, dtype)
        if src.is_integer:
            cast = math_ops.cast(image, dtype)
            return math_ops.multiply(cast, convert_to_tensor(1.0 / _dtype_max(src), dtype=dtype))
        scale = _dtype_max(dtype) + 0.5
        scaled = math_ops.multiply(image, convert_to_tensor(scale, dtype=src))
        return math_ops.saturate_cast(scaled, dtype) if saturate else \
            math_ops.cast(scaled, dtype)


def _as_float(image):
    """(float image, original dtype): float16/32 as they are, others via convert_image_dtype."""
    image = convert_to_tensor(image, name="image")
    orig = image.dtype
    if orig in (dtypes.float16, dtypes.float32):
        return image, orig
    return convert_image_dtype(image, dtypes.float32), orig


def adjust_brightness(image, delta):
    """Adds ``delta`` to every pixel of the float image (integer images via [0, 1] floats,
    converted back with saturation)."""
    with name_scope(None, "adjust_brightness", [image, delta]):
        flt, orig = _as_float(image)
        adjusted = math_ops.add(flt, math_ops.cast(delta, flt.dtype))
        return convert_image_dtype(adjusted, orig, saturate=True)


def _adjust_contrast_kernel(op, ctx):
    def adjust_contrastv2(images, factor):
        mean = images.mean(axis=(-3, -2), keepdims=True, dtype=np.float64).astype(images.dtype)
        return ((images - mean) * np.asarray(factor, images.dtype) + mean).astype(images.dtype)
    return adjust_contrastv2


def _adjust_contrast_grad(op, g):
    factor = op._inputs[1]
    dx = g * factor
    mean_g = reduction_ops.reduce_mean(g, axis=[-3, -2], keepdims=True)
    dx = dx + mean_g * (1.0 - factor)
    x = op._inputs[0]
    mean_x = reduction_ops.reduce_mean(x, axis=[-3, -2], keepdims=True)
    dfactor = reduction_ops.reduce_sum(g * (x - mean_x))
    return [dx, dfactor]


def _adjust_contrast_infer(op):
    images, factor = op._inputs
    images.shape.with_rank_at_least(3)
    factor.shape.with_rank(0)
    if not images.dtype.is_floating:
        raise TypeError("AdjustContrastv2 needs float images, got %s" % images.dtype.name)
    return [(images.dtype, images.shape)]


register_op("AdjustContrastv2", infer=_adjust_contrast_infer, kernel=_adjust_contrast_kernel,
            grad=_adjust_contrast_grad,
            doc="(x - mean) * contrast_factor + mean, the mean per image and channel.")


def adjust_contrast(images, contrast_factor):
    """Scales each channel's deviation from its mean (per image) by ``contrast_factor``."""
    with name_scope(None, "adjust_contrast", [images, contrast_factor]):
        flt, orig = _as_float(images)
        factor = math_ops.cast(contrast_factor, flt.dtype)
        adjusted = core.out("AdjustContrastv2", [flt, factor], {}, name="AdjustContrastv2")
        return convert_image_dtype(adjusted, orig, saturate=True)


def random_brightness(image, max_delta, seed=None):
    """``adjust_brightness`` by a delta uniform in ``[-max_delta, max_delta)``."""
    if max_delta < 0:
        raise ValueError("max_delta must be non-negative.")
    delta = random_ops.random_uniform([], -max_delta, max_delta, seed=seed)
    return adjust_brightness(image, delta)


def random_contrast(image, lower, upper, seed=None):
    """``adjust_contrast`` by a factor uniform in ``[lower, upper)``."""
    if upper <= lower:
        raise ValueError("upper must be > lower.")
    if lower < 0:
        raise ValueError("lower must be non-negative.")
    factor = random_ops.random_uniform([], lower, upper, seed=seed)
    return adjust_contrast(image, factor)


def per_image_standardization(image):
    """``(x - mean) / max(stddev, 1 / sqrt(num_pixels))`` per image, as float32."""
    with name_scope(None, "per_image_standardization", [image]):
        image, _ = _image(image)
        image = math_ops.cast(image, dtypes.float32)
        shape = array_ops.shape(image)
        num_pixels = reduction_ops.reduce_prod(shape[-3:])
        mean = reduction_ops.reduce_mean(image, axis=[-1, -2, -3], keepdims=True)
        variance = reduction_ops.reduce_mean(math_ops.square(image - mean),
                                             axis=[-1, -2, -3], keepdims=True)
        stddev = math_ops.sqrt(variance)
        min_stddev = math_ops.rsqrt(math_ops.cast(num_pixels, dtypes.float32))
        return math_ops.divide(image - mean, math_ops.maximum(stddev, min_stddev))


def rgb_to_grayscale(images, name=None):
    """Luma ``0.2989 R + 0.5870 G + 0.1140 B`` as a 1-channel image of the same dtype."""
    with name_scope(name, "rgb_to_grayscale", [images]):
        images = convert_to_tensor(images, name="images")
        orig = images.dtype
        flt = convert_image_dtype(images, dtypes.float32)
        weights = convert_to_tensor(np.array([0.2989, 0.5870, 0.1140], np.float32))
        gray = reduction_ops.reduce_sum(flt * weights, axis=-1, keepdims=True)
        return convert_image_dtype(gray, orig)


def grayscale_to_rgb(images, name=None):
    """Repeats the single channel three times."""
    with name_scope(name, "grayscale_to_rgb", [images]):
        images = convert_to_tensor(images, name="images")
        if images.shape.ndims is not None and images.shape.as_list()[-1] not in (None, 1):
            raise ValueError("grayscale_to_rgb needs images with 1 channel, got shape %s"
                             % images.shape)
        rank = images.shape.ndims if images.shape.ndims is not None else 3
        return array_ops.tile(images, [1] * (rank - 1) + [3])


def _rgb_to_hsv_kernel(op, ctx):
    def rgb_to_hsv(x):
        r, g, b = x[..., 0], x[..., 1], x[..., 2]
        v = np.maximum(np.maximum(r, g), b)
        rng = v - np.minimum(np.minimum(r, g), b)
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.where(v > 0, rng / v, 0).astype(x.dtype)
            norm = (np.float32(1) / (np.float32(6) * rng)).astype(x.dtype)
            h = np.where(r == v, norm * (g - b),
                         np.where(g == v, norm * (b - r) + x.dtype.type(2.0 / 6),
                                  norm * (r - g) + x.dtype.type(4.0 / 6)))
        h = np.where(rng > 0, h, 0)
        h = np.where(h < 0, h + 1, h).astype(x.dtype)
        return np.stack([h, s, v], axis=-1)
    return rgb_to_hsv


def _hsv_to_rgb_kernel(op, ctx):
    def hsv_to_rgb(x):
        h, s, v = x[..., 0], x[..., 1], x[..., 2]
        one = x.dtype.type(1)
        dh = h * x.dtype.type(6)
        dr = np.clip(np.abs(dh - 3) - 1, 0, 1)
        dg = np.clip(-np.abs(dh - 2) + 2, 0, 1)
        db = np.clip(-np.abs(dh - 4) + 2, 0, 1)
        one_s = one - s
        return np.stack([(one_s + s * dr) * v, (one_s + s * dg) * v, (one_s + s * db) * v],
                        axis=-1).astype(x.dtype)
    return hsv_to_rgb


def _color_infer(op):
    x = op._inputs[0]
    if not x.dtype.is_floating:
        raise TypeError("%s needs float images, got %s" % (op.type, x.dtype.name))
    last = x.shape.with_rank_at_least(1)[-1].value
    if last not in (None, 3):
        raise ValueError("%s needs 3 channels in the last dimension, got %d" % (op.type, last))
    return [(x.dtype, x.shape)]


register_op("RGBToHSV", infer=_color_infer, kernel=_rgb_to_hsv_kernel, grad=None,
            device_types=_CPU, doc="RGB -> HSV (all in [0, 1]).")
register_op("HSVToRGB", infer=_color_infer, kernel=_hsv_to_rgb_kernel, grad=None,
            device_types=_CPU, doc="HSV -> RGB (all in [0, 1]).")


def rgb_to_hsv(images, name=None):
    """RGB to HSV (float images in [0, 1]; hue in [0, 1))."""
    return core.out("RGBToHSV", [convert_to_tensor(images)], {}, name=name or "RGBToHSV")


def hsv_to_rgb(images, name=None):
    """HSV to RGB (float images in [0, 1])."""
    return core.out("HSVToRGB", [convert_to_tensor(images)], {}, name=name or "HSVToRGB")


def adjust_saturation(image, saturation_factor, name=None):
    """Multiplies the HSV saturation by ``saturation_factor`` (clipped to [0, 1])."""
    with name_scope(name, "adjust_saturation", [image]):
        flt, orig = _as_float(image)
        hsv = rgb_to_hsv(flt)
        h, s, v = array_ops.unstack(hsv, axis=-1)
        s = math_ops.clip_by_value(s * math_ops.cast(saturation_factor, flt.dtype), 0.0, 1.0)
        return convert_image_dtype(hsv_to_rgb(array_ops.stack([h, s, v], axis=-1)), orig,
                                   saturate=True)


def adjust_hue(image, delta, name=None):
    """Rotates the HSV hue by ``delta`` (in [-1, 1], a fraction of the circle)."""
    with name_scope(name, "adjust_hue", [image]):
        flt, orig = _as_float(image)
        hsv = rgb_to_hsv(flt)
        h, s, v = array_ops.unstack(hsv, axis=-1)
        h = math_ops.floormod(h + math_ops.cast(delta, flt.dtype), 1.0)
        return convert_image_dtype(hsv_to_rgb(array_ops.stack([h, s, v], axis=-1)), orig,
                                   saturate=True)


def random_saturation(image, lower, upper, seed=None):
    if upper <= lower:
        raise ValueError("upper must be > lower.")
    if lower < 0:
        raise ValueError("lower must be non-negative.")
    return adjust_saturation(image, random_ops.random_uniform([], lower, upper, seed=seed))


def random_hue(image, max_delta, seed=None):
    if max_delta > 0.5:
        raise ValueError("max_delta must be <= 0.5.")
    if max_delta < 0:
        raise ValueError("max_delta must be non-negative.")
    return adjust_hue(image, random_ops.random_uniform([], -max_delta, max_delta, seed=seed))


# ----------------------------------------------------------------------------------------------
# Encoding and decoding (Pillow)
# ----------------------------------------------------------------------------------------------
def _pillow(op_name):
    try:
        from PIL import Image
    except ImportError:
        raise errors.UnimplementedError(
            None, None, "%s needs Pillow, which is not installed: pip install 'tfnb[image]'"
            % op_name) from None
    return Image


def _contents(x):
    v = x[()] if isinstance(x, np.ndarray) else x
    return v if isinstance(v, bytes) else bytes(v)


_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


def _decode_to_array(data, channels, op_name, want_dtype=np.uint8):
    Image = _pillow(op_name)
    try:
        img = Image.open(_io.BytesIO(data))
        img.load()
    except Exception as e:  # noqa: BLE001 - Pillow raises many types for bad data
        raise errors.InvalidArgumentError(None, None, "%s: invalid or unsupported image data "
                                          "(%d bytes): %s" % (op_name, len(data), e)) from None
    if img.mode in ("I;16", "I;16B", "I;16L", "I") and want_dtype == np.uint16:
        arr = np.asarray(img, dtype=np.uint16)
        arr = arr[:, :, None]
        if channels in (3, 4):
            arr = np.repeat(arr, 3, axis=2)
            if channels == 4:
                arr = np.concatenate([arr, np.full(arr.shape[:2] + (1,), 65535, np.uint16)], 2)
        return arr
    if channels:
        img = img.convert(_MODES[channels])
    elif img.mode not in _MODES.values():
        img = img.convert("RGBA" if "A" in img.mode or img.mode == "P" and
                          "transparency" in img.info else "RGB")
    arr = np.asarray(img, dtype=np.uint8)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if want_dtype == np.uint16:
        arr = arr.astype(np.uint16) * 257
    return np.ascontiguousarray(arr)


def _decode_kernel(op, ctx):
    channels = int(op._attrs["channels"])
    name = op.type
    np_dtype = op._attrs["dtype"].np

    def decode(contents):
        arr = _decode_to_array(_contents(contents), channels, name, np_dtype)
        if name == "DecodeJpeg":
            ratio = int(op._attrs.get("ratio", 1))
            if ratio > 1:
                arr = arr[::ratio, ::ratio]
        return arr.astype(np_dtype, copy=False)
    return decode


def _decode_infer(op):
    c = op._inputs[0]
    if c.dtype is not dtypes.string:
        raise TypeError("%s needs a string scalar of encoded image bytes, got %s"
                        % (op.type, c.dtype.name))
    c.shape.with_rank(0)
    channels = int(op._attrs["channels"])
    if channels not in (0, 1, 2, 3, 4):
        raise ValueError("channels must be 0, 1, 2, 3 or 4, got %d" % channels)
    return [(op._attrs["dtype"], TensorShape([None, None, channels or None]))]


for _type in ("DecodePng", "DecodeJpeg", "DecodeImage"):
    register_op(_type, infer=_decode_infer, kernel=_decode_kernel, grad=NOT_DIFFERENTIABLE,
                device_types=_CPU, doc="Decodes an encoded image into [height, width, channels].")


def decode_png(contents, channels=0, dtype=dtypes.uint8, name=None):
    """The ``[height, width, channels]`` pixels of PNG bytes (``channels`` 0: as stored)."""
    dtype = dtypes.as_dtype(dtype)
    if dtype not in (dtypes.uint8, dtypes.uint16):
        raise TypeError("decode_png's dtype must be uint8 or uint16, got %s" % dtype.name)
    return core.out("DecodePng", [convert_to_tensor(contents, dtype=dtypes.string)],
                    {"channels": int(channels), "dtype": dtype}, name=name or "DecodePng")


def decode_jpeg(contents, channels=0, ratio=1, fancy_upscaling=True,
                try_recover_truncated=False, acceptable_fraction=1, dct_method="", name=None):
    """The ``[height, width, channels]`` uint8 pixels of JPEG bytes (decoded by Pillow's
    libjpeg: values may differ from TensorFlow's decoder by a few levels)."""
    return core.out("DecodeJpeg", [convert_to_tensor(contents, dtype=dtypes.string)],
                    {"channels": int(channels), "ratio": int(ratio), "dtype": dtypes.uint8},
                    name=name or "DecodeJpeg")


def decode_image(contents, channels=None, dtype=dtypes.uint8, name=None,
                 expand_animations=True):
    """Decodes PNG, JPEG, GIF or BMP bytes (the first frame of an animation) to uint8."""
    return core.out("DecodeImage", [convert_to_tensor(contents, dtype=dtypes.string)],
                    {"channels": int(channels or 0), "dtype": dtypes.as_dtype(dtype)},
                    name=name or "decode_image")


def _encode_kernel(op, ctx):
    fmt = "PNG" if op.type == "EncodePng" else "JPEG"
    a = op._attrs

    def encode(image):
        Image = _pillow(op.type)
        img = np.asarray(image)
        c = img.shape[-1]
        if c not in ((1, 2, 3, 4) if fmt == "PNG" else (1, 3)):
            raise errors.InvalidArgumentError(None, None, "%s: image must have 1%s or 3 "
                                              "channels, got %d" % (op.type, ", 2, 4" if
                                                                    fmt == "PNG" else "", c))
        if img.dtype == np.uint16:
            if c != 1:
                raise errors.UnimplementedError(None, None, "EncodePng: 16-bit images with %d "
                                                "channels are not supported (Pillow writes "
                                                "16-bit grayscale only)" % c)
            pil = Image.fromarray(np.ascontiguousarray(img[:, :, 0]))  # mode I;16
        else:
            pil = Image.fromarray(img[:, :, 0] if c == 1 else img, _MODES[c])
        buf = _io.BytesIO()
        if fmt == "PNG":
            level = int(a.get("compression", -1))
            pil.save(buf, "PNG", compress_level=6 if level < 0 else level)
        else:
            pil.save(buf, "JPEG", quality=int(a.get("quality", 95)))
        return core.to_numpy(buf.getvalue(), dtypes.string)[0]
    return encode


def _encode_infer(op):
    x = op._inputs[0]
    x.shape.with_rank(3)
    ok = (dtypes.uint8, dtypes.uint16) if op.type == "EncodePng" else (dtypes.uint8,)
    if x.dtype not in ok:
        raise TypeError("%s needs a %s image, got %s" % (op.type, " or ".join(
            d.name for d in ok), x.dtype.name))
    return [(dtypes.string, TensorShape([]))]


register_op("EncodePng", infer=_encode_infer, kernel=_encode_kernel, grad=NOT_DIFFERENTIABLE,
            device_types=_CPU, doc="PNG-encodes a [height, width, channels] image.")
register_op("EncodeJpeg", infer=_encode_infer, kernel=_encode_kernel, grad=NOT_DIFFERENTIABLE,
            device_types=_CPU, doc="JPEG-encodes a [height, width, channels] uint8 image.")


def encode_png(image, compression=-1, name=None):
    """PNG bytes of a uint8/uint16 ``[height, width, channels]`` image (lossless)."""
    return core.out("EncodePng", [convert_to_tensor(image)], {"compression": int(compression)},
                    name=name or "EncodePng")


def encode_jpeg(image, format="", quality=95, progressive=False, optimize_size=False,  # noqa: A002
                chroma_downsampling=True, density_unit="in", x_density=300, y_density=300,
                xmp_metadata="", name=None):
    """JPEG bytes of a uint8 ``[height, width, 1 or 3]`` image."""
    return core.out("EncodeJpeg", [convert_to_tensor(image)], {"quality": int(quality)},
                    name=name or "EncodeJpeg")


def _is_jpeg_kernel(op, ctx):
    return lambda contents: np.asarray(_contents(contents)[:3] == b"\xff\xd8\xff")


register_op("IsJpeg", infer=lambda op: [(dtypes.bool_, TensorShape([]))], kernel=_is_jpeg_kernel,
            grad=NOT_DIFFERENTIABLE, device_types=_CPU, doc="Whether bytes start like a JPEG.")


def is_jpeg(contents, name=None):
    """Whether ``contents`` starts with the JPEG signature."""
    return core.out("IsJpeg", [convert_to_tensor(contents, dtype=dtypes.string)], {},
                    name=name or "is_jpeg")
