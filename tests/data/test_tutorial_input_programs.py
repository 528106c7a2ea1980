"""The input code of the TF1 tutorials as it was written (only the import line changed): the
CIFAR-10 tutorial's cifar10_input (queue readers, distortions, shuffle_batch with 16
threads, image summaries) and its eval inputs, on small files in CIFAR-10's binary format."""
import os

import numpy as np

import tfnb as tf

IMAGE_SIZE = 24
NUM_EXAMPLES_PER_EPOCH_FOR_TRAIN = 50


# --- cifar10_input.py (TF 1.x models/tutorials/image/cifar10), verbatim but for xrange ---------
def read_cifar10(filename_queue):
    class CIFAR10Record(object):
        pass
    result = CIFAR10Record()
    label_bytes = 1
    result.height = 32
    result.width = 32
    result.depth = 3
    image_bytes = result.height * result.width * result.depth
    record_bytes = label_bytes + image_bytes
    reader = tf.FixedLengthRecordReader(record_bytes=record_bytes)
    result.key, value = reader.read(filename_queue)
    record_bytes = tf.decode_raw(value, tf.uint8)
    result.label = tf.cast(tf.strided_slice(record_bytes, [0], [label_bytes]), tf.int32)
    depth_major = tf.reshape(
        tf.strided_slice(record_bytes, [label_bytes], [label_bytes + image_bytes]),
        [result.depth, result.height, result.width])
    result.uint8image = tf.transpose(depth_major, [1, 2, 0])
    return result


def _generate_image_and_label_batch(image, label, min_queue_examples, batch_size, shuffle):
    num_preprocess_threads = 16
    if shuffle:
        images, label_batch = tf.train.shuffle_batch(
            [image, label], batch_size=batch_size, num_threads=num_preprocess_threads,
            capacity=min_queue_examples + 3 * batch_size, min_after_dequeue=min_queue_examples)
    else:
        images, label_batch = tf.train.batch(
            [image, label], batch_size=batch_size, num_threads=num_preprocess_threads,
            capacity=min_queue_examples + 3 * batch_size)
    tf.summary.image('images', images)
    return images, tf.reshape(label_batch, [batch_size])


def distorted_inputs(data_dir, batch_size):
    filenames = [os.path.join(data_dir, 'data_batch_%d.bin' % i) for i in range(1, 6)]
    for f in filenames:
        if not tf.gfile.Exists(f):
            raise ValueError('Failed to find file: ' + f)
    filename_queue = tf.train.string_input_producer(filenames)
    with tf.name_scope('data_augmentation'):
        read_input = read_cifar10(filename_queue)
        reshaped_image = tf.cast(read_input.uint8image, tf.float32)
        height = IMAGE_SIZE
        width = IMAGE_SIZE
        distorted_image = tf.random_crop(reshaped_image, [height, width, 3])
        distorted_image = tf.image.random_flip_left_right(distorted_image)
        distorted_image = tf.image.random_brightness(distorted_image, max_delta=63)
        distorted_image = tf.image.random_contrast(distorted_image, lower=0.2, upper=1.8)
        float_image = tf.image.per_image_standardization(distorted_image)
        float_image.set_shape([height, width, 3])
        read_input.label.set_shape([1])
        min_fraction_of_examples_in_queue = 0.4
        min_queue_examples = int(NUM_EXAMPLES_PER_EPOCH_FOR_TRAIN *
                                 min_fraction_of_examples_in_queue)
    return _generate_image_and_label_batch(float_image, read_input.label, min_queue_examples,
                                           batch_size, shuffle=True)


def inputs(eval_data, data_dir, batch_size):
    filenames = [os.path.join(data_dir, 'test_batch.bin')]
    filename_queue = tf.train.string_input_producer(filenames)
    read_input = read_cifar10(filename_queue)
    reshaped_image = tf.cast(read_input.uint8image, tf.float32)
    resized_image = tf.image.resize_image_with_crop_or_pad(reshaped_image, IMAGE_SIZE,
                                                           IMAGE_SIZE)
    float_image = tf.image.per_image_standardization(resized_image)
    float_image.set_shape([IMAGE_SIZE, IMAGE_SIZE, 3])
    read_input.label.set_shape([1])
    return _generate_image_and_label_batch(float_image, read_input.label, 20, batch_size,
                                           shuffle=False)
# ----------------------------------------------------------------------------------------------


def _write_batches(tmp, rng):
    images = {}
    for name in ["data_batch_%d.bin" % i for i in range(1, 6)] + ["test_batch.bin"]:
        labels = rng.randint(0, 10, 10).astype(np.uint8)
        pix = rng.randint(0, 256, (10, 3, 32, 32)).astype(np.uint8)
        with open(os.path.join(tmp, name), "wb") as f:
            for lab, p in zip(labels, pix):
                f.write(bytes([lab]) + p.tobytes())
        images[name] = (labels, pix)
    return images


def test_cifar10_input_as_written(tmp_path):
    rng = np.random.RandomState(0)
    data = _write_batches(str(tmp_path), rng)
    images, labels = distorted_inputs(str(tmp_path), 16)
    eval_images, eval_labels = inputs(True, str(tmp_path), 10)
    summaries = tf.summary.merge_all()
    assert images.shape.as_list() == [16, 24, 24, 3] and labels.shape.as_list() == [16]
    with tf.Session() as sess:
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess=sess, coord=coord)
        try:
            x, y, s = sess.run([images, labels, summaries])
            ex, ey = sess.run([eval_images, eval_labels])
        finally:
            coord.request_stop()
            coord.join(threads, stop_grace_period_secs=10)
    assert x.shape == (16, 24, 24, 3) and x.dtype == np.float32
    np.testing.assert_allclose(x.mean(axis=(1, 2, 3)), 0, atol=1e-4)  # standardized
    np.testing.assert_allclose(x.std(axis=(1, 2, 3)), 1, atol=1e-3)
    all_train = np.concatenate([data["data_batch_%d.bin" % i][0] for i in range(1, 6)])
    assert set(y.tolist()) <= set(all_train.tolist())
    assert isinstance(s, bytes) and len(s) > 0
    # eval: the central 24x24 crop of each test image, standardized, with its own label (16
    # threads fill the batch queue, so the order is not the file's -- as in TF)
    labels_t, pix_t = data["test_batch.bin"]
    crop = pix_t.transpose(0, 2, 3, 1)[:, 4:28, 4:28].astype(np.float32)
    ref = (crop - crop.mean(axis=(1, 2, 3), keepdims=True)) / crop.std(axis=(1, 2, 3),
                                                                       keepdims=True)
    for img, lab in zip(ex, ey):
        k = int(np.argmin(np.abs(ref - img).max(axis=(1, 2, 3))))
        np.testing.assert_allclose(img, ref[k], rtol=1e-4, atol=1e-4)
        assert lab == labels_t[k]
