"""CIFAR-10 binary records: NumPy reader, tf.data and queue readers agree; bad files fail clearly."""
import numpy as np
import pytest

import tfnb as tf
from tfnb.datasets import cifar10


def _write_set(tmp_path, n=7, seed=0):
    rng = np.random.RandomState(seed)
    d = tmp_path / cifar10.BATCHES_DIR
    d.mkdir()
    sets = {}
    for name in cifar10.TRAIN_FILES + cifar10.TEST_FILES:
        x = rng.randint(0, 256, (n, 32, 32, 3)).astype(np.uint8)
        y = rng.randint(0, 10, n).astype(np.uint8)
        cifar10.write_records(str(d / name), x, y)
        sets[name] = (x, y)
    return sets


def test_record_layout_is_label_then_rgb_planes(tmp_path):
    img = np.zeros((1, 32, 32, 3), np.uint8)
    img[0, 0, 1, 0], img[0, 0, 0, 1], img[0, 1, 0, 2] = 11, 22, 33
    p = cifar10.write_records(str(tmp_path / "b.bin"), img, [7])
    with open(p, "rb") as f:
        raw = f.read()
    assert len(raw) == 3073 and raw[0] == 7
    assert raw[1 + 1] == 11 and raw[1 + 1024] == 22 and raw[1 + 2048 + 32] == 33
    x, y = cifar10.read_records(p)
    np.testing.assert_array_equal(x, img)
    assert y.tolist() == [7]


def test_load_data_and_filenames(tmp_path):
    sets = _write_set(tmp_path)
    (xtr, ytr), (xte, yte) = cifar10.load_data(str(tmp_path), download_ok=False)
    assert xtr.shape == (35, 32, 32, 3) and yte.shape == (7,)
    np.testing.assert_array_equal(xte, sets["test_batch.bin"][0])
    files = cifar10.filenames(str(tmp_path), eval_data=False, download_ok=False)
    assert [f.rsplit("/", 1)[1] for f in files] == cifar10.TRAIN_FILES


def test_tf_data_and_queue_reader_read_the_same_records(tmp_path):
    sets = _write_set(tmp_path, n=3)
    files = cifar10.filenames(str(tmp_path), eval_data=True, download_ok=False)
    x, y = sets["test_batch.bin"]
    with tf.Graph().as_default():
        img, label = cifar10.dataset(files).make_one_shot_iterator().get_next()
        with tf.Session() as sess:
            for i in range(3):
                a, b = sess.run([img, label])
                np.testing.assert_array_equal(a, x[i].astype(np.float32))
                assert b == y[i]
            with pytest.raises(tf.errors.OutOfRangeError):
                sess.run(img)
    with tf.Graph().as_default():
        queue = tf.train.string_input_producer(files, shuffle=False)
        _, value = tf.FixedLengthRecordReader(record_bytes=cifar10.RECORD_BYTES).read(queue)
        raw = tf.decode_raw(value, tf.uint8)
        with tf.Session() as sess:
            coord = tf.train.Coordinator()
            threads = tf.train.start_queue_runners(sess, coord)
            first = sess.run(raw)
            coord.request_stop()
            coord.join(threads)
    assert first[0] == y[0]


def test_bad_files(tmp_path):
    p = tmp_path / "short.bin"
    p.write_bytes(b"\x01" * 3073 + b"\x00" * 10)
    with pytest.raises(ValueError, match="short.bin: 3083 bytes is not a whole number"):
        cifar10.read_records(str(p))
    p.write_bytes(b"\x0c" + b"\x00" * 3072)
    with pytest.raises(ValueError, match="record 0 has label 12"):
        cifar10.read_records(str(p))


def test_offline_message_says_what_to_place_where(tmp_path):
    with pytest.raises(cifar10.DatasetUnavailableError) as e:
        cifar10.filenames(str(tmp_path), download_ok=False)
    assert "cifar-10-binary.tar.gz" in str(e.value) and str(tmp_path) in str(e.value)


def test_archive_is_checked_then_extracted(tmp_path):
    import tarfile
    src = tmp_path / "src"
    src.mkdir()
    _write_set(src, n=1)
    with tarfile.open(tmp_path / cifar10.ARCHIVE, "w:gz") as tar:
        tar.add(src / cifar10.BATCHES_DIR, arcname=cifar10.BATCHES_DIR)
    with pytest.raises(cifar10.DatasetUnavailableError, match="published MD5"):
        cifar10.filenames(str(tmp_path), download_ok=False)
    assert not (tmp_path / cifar10.BATCHES_DIR).exists()
