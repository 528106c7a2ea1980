"""tf.image: resizing against loop-by-loop references of TF 1.15's rules (legacy, aligned
corners, half-pixel centers), gradients of the resize ops against finite differences,
conversions, color, crops/pads and their checks, random ops' properties, PNG/JPEG."""
import numpy as np
import pytest

import tfnb as tf
from gradcheck import check_gradients


def run(t, feed=None):
    with tf.Session() as sess:
        return sess.run(t, feed)


# ----------------------------------------------------------------------------------------------
# References, one output pixel at a time, written from TF 1.15's kernels' formulas
# ----------------------------------------------------------------------------------------------
def _scale(n_in, n_out, align):
    return np.float32((n_in - 1) / (n_out - 1)) if align and n_out > 1 else \
        np.float32(n_in) / np.float32(n_out)


def ref_bilinear(img, h, w, align=False, half=False):
    n_h, n_w = img.shape[:2]
    sy, sx = _scale(n_h, h, align), _scale(n_w, w, align)
    out = np.zeros((h, w, img.shape[2]))
    for y in range(h):
        iy = (y + 0.5) * sy - 0.5 if half else y * sy
        y0 = int(np.floor(iy))
        y1 = min(int(np.ceil(iy)) if half else y0 + 1, n_h - 1)
        y0c = max(y0, 0)
        ly = iy - np.floor(iy)
        for x in range(w):
            ix = (x + 0.5) * sx - 0.5 if half else x * sx
            x0 = int(np.floor(ix))
            x1 = min(int(np.ceil(ix)) if half else x0 + 1, n_w - 1)
            x0c = max(x0, 0)
            lx = ix - np.floor(ix)
            top = img[y0c, x0c] + (img[y0c, x1] - img[y0c, x0c]) * lx
            bottom = img[y1, x0c] + (img[y1, x1] - img[y1, x0c]) * lx
            out[y, x] = top + (bottom - top) * ly
    return out


def ref_nearest(img, h, w, align=False):
    n_h, n_w = img.shape[:2]
    sy, sx = _scale(n_h, h, align), _scale(n_w, w, align)
    rnd = np.round if align else np.floor
    ys = [min(int(rnd(np.float32(y) * sy)), n_h - 1) for y in range(h)]
    xs = [min(int(rnd(np.float32(x) * sx)), n_w - 1) for x in range(w)]
    return img[ys][:, xs]


def ref_area(img, h, w):
    n_h, n_w = img.shape[:2]
    sy, sx = n_h / h, n_w / w
    out = np.zeros((h, w, img.shape[2]))
    for y in range(h):
        for x in range(w):
            acc = 0.0
            for i in range(int(np.floor(y * sy)), int(np.ceil((y + 1) * sy))):
                wy = min(i + 1, (y + 1) * sy) - max(i, y * sy)
                for j in range(int(np.floor(x * sx)), int(np.ceil((x + 1) * sx))):
                    wx = min(j + 1, (x + 1) * sx) - max(j, x * sx)
                    acc = acc + img[min(i, n_h - 1), min(j, n_w - 1)] * wy * wx
            out[y, x] = acc / (sy * sx)
    return out


def keys(t, a=-0.75):
    t = abs(t)
    if t <= 1:
        return ((a + 2) * t - (a + 3)) * t * t + 1
    return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a if t < 2 else 0.0


def ref_bicubic(img, h, w):
    n_h, n_w = img.shape[:2]
    sy, sx = _scale(n_h, h, False), _scale(n_w, w, False)
    out = np.zeros((h, w, img.shape[2]))
    for y in range(h):
        iy = y * sy
        y0 = int(np.floor(iy))
        for x in range(w):
            ix = x * sx
            x0 = int(np.floor(ix))
            acc = 0.0
            for i in range(-1, 3):
                # TF's legacy kernel reads its weights from a 1024-entry table
                wy = keys(np.rint((iy - y0) * 1024) / 1024 - i)
                for j in range(-1, 3):
                    wx = keys(np.rint((ix - x0) * 1024) / 1024 - j)
                    acc = acc + wy * wx * img[min(max(y0 + i, 0), n_h - 1),
                                             min(max(x0 + j, 0), n_w - 1)]
            out[y, x] = acc
    return out


IMG = np.random.RandomState(7).rand(5, 7, 2).astype(np.float32)


@pytest.mark.parametrize("h,w,align,half", [(9, 11, False, False), (3, 4, False, False),
                                            (9, 11, True, False), (8, 5, False, True),
                                            (1, 1, True, False)])
def test_bilinear_matches_reference(h, w, align, half):
    got = run(tf.image.resize_bilinear(IMG[None], [h, w], align_corners=align,
                                       half_pixel_centers=half))[0]
    np.testing.assert_allclose(got, ref_bilinear(IMG, h, w, align, half), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("h,w,align", [(9, 11, False), (3, 4, False), (4, 5, True)])
def test_nearest_keeps_dtype_and_matches_reference(h, w, align):
    img = (IMG * 255).astype(np.uint8)
    out = tf.image.resize_images(tf.constant(img), [h, w], align_corners=align,
                                 method=tf.image.ResizeMethod.NEAREST_NEIGHBOR)
    assert out.dtype == tf.uint8 and out.shape.as_list() == [h, w, 2]
    np.testing.assert_array_equal(run(out), ref_nearest(img, h, w, align))


@pytest.mark.parametrize("h,w", [(2, 3), (3, 7), (5, 2), (7, 10)])
def test_area_and_bicubic_match_references(h, w):
    area = run(tf.image.resize_images(IMG, [h, w], method=tf.image.ResizeMethod.AREA))
    np.testing.assert_allclose(area, ref_area(IMG, h, w), rtol=1e-5, atol=1e-6)
    cubic = run(tf.image.resize_images(IMG, [h, w], method=tf.image.ResizeMethod.BICUBIC))
    np.testing.assert_allclose(cubic, ref_bicubic(IMG, h, w), rtol=1e-5, atol=1e-5)


def test_resize_images_rules():
    u8 = tf.constant((IMG * 255).astype(np.uint8))
    assert tf.image.resize_images(u8, [3, 3]).dtype == tf.float32
    same = tf.image.resize_images(u8, [5, 7])  # already that size: returned unchanged
    assert same.dtype == tf.uint8
    h = tf.placeholder(tf.int32, [])
    dyn = tf.image.resize_images(tf.constant(IMG), tf.stack([h, 4]))
    assert dyn.shape.as_list() == [None, None, 2]
    assert run(dyn, {h: 6}).shape == (6, 4, 2)
    kept = tf.image.resize_images(tf.constant(IMG), [10, 10], preserve_aspect_ratio=True)
    assert kept.shape.as_list() == [7, 10, 2]
    with pytest.raises(ValueError, match="3 or 4 dimensions"):
        tf.image.resize_images(tf.zeros([4, 4]), [2, 2])
    with pytest.raises(tf.errors.InvalidArgumentError, match="positive"):
        run(dyn, {h: 0})


@pytest.mark.parametrize("fn", [
    lambda x: tf.image.resize_bilinear(x, [5, 3]),
    lambda x: tf.image.resize_bilinear(x, [6, 7], half_pixel_centers=True),
    lambda x: tf.image.resize_bicubic(x, [5, 6]),
    lambda x: tf.image.resize_area(x, [2, 3]),
    lambda x: tf.image.resize_nearest_neighbor(x, [7, 2]),
])
def test_resize_gradients(fn):
    x = np.random.RandomState(0).rand(2, 4, 5, 2)
    # The ops give float32 (as TF's) and are linear: large steps make exact differences.
    check_gradients(lambda a: tf.cast(fn(a), tf.float64), [x], eps=0.5, rtol=1e-4, atol=1e-4)


def test_contrast_gradients_and_values():
    x = np.random.RandomState(1).rand(3, 4, 2)
    # adjust_contrast works on float32 (as TF converts float64 images); it is linear in each
    # input, so large steps make exact differences.
    check_gradients(lambda a, f: tf.cast(tf.image.adjust_contrast(a, tf.reshape(f, [])),
                                         tf.float64),
                    [x, np.array([1.7])], eps=0.5, rtol=1e-4, atol=1e-4)
    got = run(tf.image.adjust_contrast(x.astype(np.float32), 0.5))
    mean = x.mean(axis=(0, 1), keepdims=True)
    np.testing.assert_allclose(got, (x - mean) * 0.5 + mean, rtol=1e-5)


# ----------------------------------------------------------------------------------------------
# Conversions and color
# ----------------------------------------------------------------------------------------------
def test_convert_image_dtype_rules():
    u8 = np.array([0, 1, 128, 255], np.uint8)
    assert run(tf.image.convert_image_dtype(u8, tf.float32)).tolist() == \
        (u8.astype(np.float32) * np.float32(1 / 255)).tolist()
    f = np.array([0.0, 0.5, 0.999, 1.0, 1.5, -0.2], np.float32)
    assert run(tf.image.convert_image_dtype(f, tf.uint8, saturate=True)).tolist() == \
        [0, 127, 255, 255, 255, 0]  # x * 255.5, clipped, truncated
    assert run(tf.image.convert_image_dtype(u8, tf.int32)).tolist() == \
        (u8.astype(np.int64) * 2 ** 23).tolist()
    assert run(tf.image.convert_image_dtype(np.array([65535, 256], np.uint16), tf.uint8)).tolist() \
        == [255, 1]
    x = tf.constant(f)
    assert tf.image.convert_image_dtype(x, tf.float32) is not x  # an identity op, same value


def test_brightness_grayscale_and_standardization():
    u8 = np.array([[[10, 200, 250]]], np.uint8)
    got = run(tf.image.adjust_brightness(u8, 0.1))
    ref = np.clip(u8 / np.float32(255) + np.float32(0.1), 0, 1) * np.float32(255.5)
    assert got.dtype == np.uint8 and got.tolist() == ref.astype(np.uint8).tolist()
    gray = run(tf.image.rgb_to_grayscale(IMG[:, :, [0, 1, 0]]))
    np.testing.assert_allclose(gray[..., 0], IMG[:, :, 0] * (0.2989 + 0.1140) +
                               IMG[:, :, 1] * 0.5870, rtol=1e-5)
    std = run(tf.image.per_image_standardization(IMG))
    np.testing.assert_allclose(std, (IMG - IMG.mean()) / IMG.std(), rtol=1e-4, atol=1e-5)
    flat = run(tf.image.per_image_standardization(np.ones((2, 2, 1), np.float32)))
    assert np.all(flat == 0)  # stddev floored at 1 / sqrt(num_pixels), no NaN


def test_hsv_round_trip_and_known_colors():
    rgb = np.array([[[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.5, 0.5, 0.5]]], np.float32)
    hsv = run(tf.image.rgb_to_hsv(rgb))
    np.testing.assert_allclose(hsv[0, :, 0], [0, 1 / 3, 2 / 3, 0], atol=1e-6)
    np.testing.assert_allclose(hsv[0, :, 1], [1, 1, 1, 0])
    np.testing.assert_allclose(run(tf.image.hsv_to_rgb(hsv)), rgb, atol=1e-6)
    shifted = run(tf.image.adjust_hue(rgb, 1 / 3))
    np.testing.assert_allclose(shifted[0, 0], [0, 1, 0], atol=1e-5)


# ----------------------------------------------------------------------------------------------
# Crops, pads, flips
# ----------------------------------------------------------------------------------------------
def test_crop_pad_and_central_crop():
    np.testing.assert_array_equal(run(tf.image.crop_to_bounding_box(IMG, 1, 2, 3, 4)),
                                  IMG[1:4, 2:6])
    padded = run(tf.image.pad_to_bounding_box(IMG, 2, 1, 9, 10))
    assert padded.shape == (9, 10, 2) and padded[:2].sum() == 0
    np.testing.assert_array_equal(padded[2:7, 1:8], IMG)
    np.testing.assert_array_equal(run(tf.image.resize_image_with_crop_or_pad(IMG, 3, 9))[:, 1:8],
                                  IMG[1:4])
    np.testing.assert_array_equal(run(tf.image.central_crop(IMG, 0.5)), IMG[1:4, 1:6])
    with pytest.raises(ValueError, match="target"):
        tf.image.crop_to_bounding_box(IMG, 3, 0, 3, 4)
    with pytest.raises(ValueError, match="central_fraction"):
        tf.image.central_crop(IMG, 0.0)


def test_flips_rotations_and_their_gradients():
    batch = np.stack([IMG, IMG * 2])
    np.testing.assert_array_equal(run(tf.image.flip_left_right(batch)), batch[:, :, ::-1])
    np.testing.assert_array_equal(run(tf.image.rot90(IMG)), np.rot90(IMG))
    np.testing.assert_array_equal(run(tf.image.rot90(batch, 3)), np.rot90(batch, 3, (1, 2)))
    check_gradients(lambda x: tf.image.transpose_image(tf.image.flip_up_down(x)),
                    [np.random.rand(3, 4, 2)])


def test_random_ops_properties_and_seeds():
    x = tf.constant(IMG)
    crop = tf.image.random_crop(x, [3, 4, 2], seed=5)
    flips = tf.image.random_flip_left_right(tf.constant(np.stack([IMG] * 8)), seed=2)
    with tf.Session() as sess:
        crops = [sess.run(crop) for _ in range(6)]
        f = sess.run(flips)
    for c in crops:
        assert any(np.array_equal(c, IMG[i:i + 3, j:j + 4]) for i in range(3) for j in range(4))
    assert len({c.tobytes() for c in crops}) > 1  # the offset changes from run to run
    mirrored = [np.array_equal(im, IMG[:, ::-1]) for im in f]
    assert all(m or np.array_equal(im, IMG) for m, im in zip(mirrored, f))
    assert 0 < sum(mirrored) < 8  # each image flips on its own
    with tf.Session() as sess:  # a new session: the same seeded stream
        assert np.array_equal(sess.run(crop), crops[0])
    with pytest.raises(ValueError, match="Need value.shape >= size"):
        tf.image.random_crop(x, [9, 4, 2])
    with pytest.raises(ValueError, match="max_delta"):
        tf.image.random_brightness(x, -1.0)
    with pytest.raises(ValueError, match="upper must be > lower"):
        tf.image.random_contrast(x, 0.5, 0.5)
    b = run(tf.image.random_brightness(x, 0.2, seed=1)) - IMG
    assert np.allclose(b, b.flat[0], atol=1e-6) and abs(b.flat[0]) <= 0.2


# ----------------------------------------------------------------------------------------------
# PNG / JPEG (Pillow)
# ----------------------------------------------------------------------------------------------
def test_png_round_trip_and_channels():
    pytest.importorskip("PIL")
    img = (np.random.RandomState(2).rand(6, 8, 3) * 255).astype(np.uint8)
    png = tf.image.encode_png(img)
    rgb, gray, rgba = run([tf.image.decode_png(png), tf.image.decode_png(png, channels=1),
                           tf.image.decode_png(png, channels=4)])
    np.testing.assert_array_equal(rgb, img)
    assert gray.shape == (6, 8, 1) and rgba.shape == (6, 8, 4) and np.all(rgba[..., 3] == 255)
    assert run(png)[:8] == b"\x89PNG\r\n\x1a\n"
    img16 = (np.arange(12, dtype=np.uint16) * 5000).reshape(3, 4, 1)
    back16 = run(tf.image.decode_png(tf.image.encode_png(img16), dtype=tf.uint16))
    np.testing.assert_array_equal(back16, img16)
    with pytest.raises(tf.errors.InvalidArgumentError, match="invalid or unsupported image"):
        run(tf.image.decode_png(tf.constant(b"not a png")))


def test_jpeg_round_trip_is_close():
    pytest.importorskip("PIL")
    img = np.tile(np.linspace(0, 255, 16, dtype=np.uint8)[None, :, None], (16, 1, 3))
    jpg = tf.image.encode_jpeg(img, quality=95)
    back, is_jpg, is_png = run([tf.image.decode_jpeg(jpg), tf.image.is_jpeg(jpg),
                                tf.image.is_jpeg(tf.image.encode_png(img))])
    assert back.shape == img.shape and is_jpg and not is_png
    assert np.abs(back.astype(int) - img).max() <= 8
