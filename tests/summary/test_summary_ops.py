"""Summary ops: tags and scopes, the Summary protos they compute (checked against what
TensorFlow 2.21's tf.compat.v1 summary kernels produce), bad input, NaN flagging."""
import logging
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from summary_helpers import decode_png, decode_wav

import tfnb as tf

Summary = tf.Summary


def run(t, feed=None):
    with tf.Session() as sess:
        return Summary.FromString(sess.run(t, feed))


# ----------------------------------------------------------------------------------------------
# Tags, names, collections
# ----------------------------------------------------------------------------------------------
def test_tags_carry_the_name_scope_and_are_unique_as_in_tf1():
    x = tf.constant(1.5)
    with tf.name_scope("train"):
        s1 = tf.summary.scalar("loss", x)
        s2 = tf.summary.scalar("loss", x)
        s3 = tf.summary.scalar("bad name!", x, family="fam")
    assert [s.name for s in (s1, s2, s3)] == ["train/loss:0", "train/loss_1:0",
                                              "train/fam/bad_name_:0"]
    assert s1.dtype == tf.string and s1.shape.as_list() == []
    assert s1.op.type == "ScalarSummary"
    tags = [v.tag for s in (s1, s2, s3) for v in run(s).value]
    assert tags == ["train/loss", "train/loss_1", "fam/train/fam/bad_name_"]


def test_summaries_join_the_summaries_collection_unless_told_otherwise():
    x = tf.constant(1.0)
    a = tf.summary.scalar("a", x)
    b = tf.summary.histogram("b", x, collections=[])
    c = tf.summary.scalar("c", x, collections=["mine"])
    assert tf.get_collection(tf.GraphKeys.SUMMARIES) == [a]
    assert tf.get_collection("mine") == [c] and b not in tf.get_collection("mine")


# ----------------------------------------------------------------------------------------------
# Scalar
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value,dtype", [(2.5, tf.float32), (7, tf.int32), (-3, tf.int64),
                                         (0.25, tf.float64)])
def test_scalar_value(value, dtype):
    s = run(tf.summary.scalar("v", tf.constant(value, dtype=dtype)))
    assert len(s.value) == 1 and s.value[0].tag == "v"
    assert s.value[0].simple_value == pytest.approx(value)


def test_scalar_rejects_non_scalars_at_construction_and_non_numbers():
    with pytest.raises(ValueError, match=r"scalar tensor, got shape \(2,\)"):
        tf.summary.scalar("v", tf.constant([1.0, 2.0]))
    with pytest.raises(TypeError, match="bool"):
        tf.summary.scalar("b", tf.constant(True))
    with pytest.raises(TypeError, match="string"):
        tf.summary.scalar("s", tf.constant("x"))


def test_scalar_of_unknown_shape_checks_at_run_time():
    p = tf.placeholder(tf.float32)
    s = tf.summary.scalar("p", p)
    assert run(s, {p: 3.0}).value[0].simple_value == 3.0
    with pytest.raises(tf.errors.InvalidArgumentError, match="needs a scalar"):
        run(s, {p: [1.0, 2.0]})


def test_nan_scalar_is_written_as_nan_and_flagged(caplog):
    p = tf.placeholder(tf.float32, [])
    with tf.name_scope("train"):
        s = tf.summary.scalar("loss", p)
    with caplog.at_level(logging.WARNING, logger="tfnb.summary"):
        assert run(s, {p: 1.0}).value[0].simple_value == 1.0
        assert not caplog.records
        assert np.isnan(run(s, {p: np.nan}).value[0].simple_value)
    (rec,) = caplog.records
    assert rec.levelno == logging.WARNING and "'train/loss'" in rec.getMessage()
    assert "nan" in rec.getMessage()


# ----------------------------------------------------------------------------------------------
# Histogram
# ----------------------------------------------------------------------------------------------
# (values, min, max, num, sum, sum_squares, bucket_limit, bucket) from TF 2.21 (tf.compat.v1).
_TF_HISTOGRAMS = [
    (np.array([0.0, 1.0, 1.05, -2.0, 3.0, 3.0], np.float32), -2, 3, 6, 6.0499999523162842,
     24.1024998998642,
     [-2.1628190051144287, -1.9661990955585713, 0, 1e-12, 0.917246389039776, 1.0089710279437536,
      1.1098681307381291, 2.8787120958073054, 3.1665833053880363, 1.7976931348623157e+308],
     [0, 1, 0, 1, 0, 1, 1, 0, 2, 0]),
    (np.array([5, 5, 7], np.int32), 5, 7, 3, 17, 99,
     [4.6361946174186253, 5.0998140791604882, 6.7878525393626115, 7.4666377932988732,
      1.7976931348623157e+308],
     [0, 2, 0, 1, 0]),
    (np.zeros([0], np.float32), 1.7976931348623157e+308, -1.7976931348623157e+308, 0, 0, 0,
     [1.7976931348623157e+308], [0]),
]


@pytest.mark.parametrize("values,lo,hi,num,total,sq,limits,counts", _TF_HISTOGRAMS)
def test_histogram_matches_tensorflow(values, lo, hi, num, total, sq, limits, counts):
    (v,) = run(tf.summary.histogram("h", tf.constant(values))).value
    h = v.histo
    assert v.tag == "h"
    assert (h.min, h.max, h.num) == (lo, hi, num)
    assert h.sum == pytest.approx(total, rel=1e-12)
    assert h.sum_squares == pytest.approx(sq, rel=1e-12)
    assert list(h.bucket_limit) == limits  # exact: the same doubles as TF's bucket limits
    assert list(h.bucket) == counts


def test_histogram_bucket_counts_sum_to_the_number_of_values():
    values = np.random.RandomState(0).standard_normal((40, 5)).astype(np.float32) * 3
    (v,) = run(tf.summary.histogram("w", values)).value
    assert sum(v.histo.bucket) == v.histo.num == 200
    assert v.histo.min == pytest.approx(values.min()) and v.histo.max == pytest.approx(values.max())
    limits = np.array(v.histo.bucket_limit)
    assert (np.diff(limits) > 0).all()


def test_histogram_with_nan_and_inf_is_written_and_flagged(caplog):
    values = np.array([1.0, np.nan, np.inf, -2.0], np.float32)
    with caplog.at_level(logging.WARNING, logger="tfnb.summary"):
        (v,) = run(tf.summary.histogram("acts", tf.constant(values))).value
    assert v.histo.num == 4 and np.isnan(v.histo.sum) and v.histo.max == np.inf
    assert sum(v.histo.bucket) == 3  # NaN has no bucket; inf is in the last one
    assert v.histo.bucket[-1] == 1 and v.histo.bucket_limit[-1] == sys.float_info.max
    assert "'acts'" in caplog.text and "2 of 4" in caplog.text


def test_histogram_rejects_non_numbers():
    with pytest.raises(TypeError, match="string"):
        tf.summary.histogram("h", tf.constant(["a"]))


# ----------------------------------------------------------------------------------------------
# Image
# ----------------------------------------------------------------------------------------------
def test_uint8_images_are_png_encoded_up_to_max_outputs():
    rng = np.random.RandomState(1)
    batch = rng.randint(0, 256, size=(4, 3, 5, 3)).astype(np.uint8)
    s = run(tf.summary.image("img", batch, max_outputs=2))
    assert [v.tag for v in s.value] == ["img/image/0", "img/image/1"]
    for v, expected in zip(s.value, batch):
        assert (v.image.height, v.image.width, v.image.colorspace) == (3, 5, 3)
        h, w, c, pixels = decode_png(v.image.encoded_image_string)
        assert (h, w, c) == (3, 5, 3)
        np.testing.assert_array_equal(pixels, expected)


@pytest.mark.parametrize("images,channels,expected", [
    # TF 2.21's pixels: non-negative images scale to max 255; others map 0 to 128 (+-127).
    (np.array([[[[0.0], [0.5]], [[1.0], [0.25]]]], np.float32), 1, [[0, 127], [255, 63]]),
    (np.array([[[[-1.0, 0, 1], [0.5, 0.25, -0.1]]]], np.float64), 3,
     [[[1, 128, 255], [191, 159, 115]]]),
    (np.full((1, 2, 2, 4), 0.5, np.float16), 4, np.full((2, 2, 4), 255)),
])
def test_float_images_are_scaled_per_image_as_tf(images, channels, expected):
    (v,) = run(tf.summary.image("f", images, max_outputs=1)).value
    assert v.tag == "f/image"
    h, w, c, pixels = decode_png(v.image.encoded_image_string)
    assert c == channels
    np.testing.assert_array_equal(pixels.reshape(np.shape(expected)), expected)


def test_nan_pixels_are_painted_red_and_flagged(caplog):
    img = np.array([[[[0.0, 0, 0], [np.nan, 0.5, 1.0]]]], np.float32)
    with caplog.at_level(logging.WARNING, logger="tfnb.summary"):
        (v,) = run(tf.summary.image("bad", img)).value
    _, _, _, pixels = decode_png(v.image.encoded_image_string)
    np.testing.assert_array_equal(pixels[0], [[0, 0, 0], [255, 0, 0]])
    assert "'bad'" in caplog.text and "1 of 2 pixels" in caplog.text


def test_image_rejects_bad_shapes_and_dtypes_at_construction():
    with pytest.raises(ValueError, match="rank 4"):
        tf.summary.image("i", tf.zeros([2, 3]))
    with pytest.raises(ValueError, match="1, 3 or 4"):
        tf.summary.image("i", tf.zeros([1, 2, 3, 2]))
    with pytest.raises(TypeError, match="int32"):
        tf.summary.image("i", tf.zeros([1, 2, 2, 1], tf.int32))
    with pytest.raises(ValueError, match="max_outputs"):
        tf.summary.image("i", tf.zeros([1, 2, 2, 1]), max_outputs=0)


def test_image_of_unknown_shape_checks_at_run_time():
    p = tf.placeholder(tf.uint8)
    s = tf.summary.image("i", p)
    with pytest.raises(tf.errors.InvalidArgumentError, match="1, 3 or 4"):
        run(s, {p: np.zeros((1, 2, 2, 2), np.uint8)})


# ----------------------------------------------------------------------------------------------
# Audio
# ----------------------------------------------------------------------------------------------
def test_audio_is_the_same_wav_as_tf():
    samples = np.array([[0.0, 0.5, -1.0, 2.0]], np.float32)
    s = run(tf.summary.audio("au", samples, 8000, max_outputs=2))
    (v,) = s.value
    assert v.tag == "au/audio/0"
    assert (v.audio.sample_rate, v.audio.num_channels, v.audio.length_frames) == (8000, 1, 4)
    assert v.audio.content_type == "audio/wav"
    assert v.audio.encoded_audio_string == (  # TF 2.21's bytes for the same clip
        b"RIFF,\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00@\x1f\x00\x00\x80>\x00\x00"
        b"\x02\x00\x10\x00data\x08\x00\x00\x00\x00\x00\x00@\x00\x80\xff\x7f")


def test_stereo_audio_with_a_sample_rate_tensor():
    rng = np.random.RandomState(2)
    clips = rng.uniform(-1, 1, size=(3, 10, 2)).astype(np.float32)
    rate = tf.placeholder(tf.float32, [])
    s = run(tf.summary.audio("stereo", clips, rate, max_outputs=1), {rate: 22050.0})
    (v,) = s.value
    assert v.tag == "stereo/audio" and v.audio.sample_rate == 22050
    sr, ch, pcm = decode_wav(v.audio.encoded_audio_string)
    assert (sr, ch, pcm.shape) == (22050, 2, (10, 2))
    np.testing.assert_allclose(pcm / 32768.0, clips[0], atol=1 / 32768)


def test_audio_bad_input():
    with pytest.raises(TypeError, match="float32"):
        tf.summary.audio("a", tf.zeros([1, 4], tf.float64), 100)
    with pytest.raises(ValueError, match="rank 2 or 3"):
        tf.summary.audio("a", tf.zeros([2, 3, 4, 5]), 100)
    s = tf.summary.audio("a", tf.zeros([1, 4]), 0.0)
    with pytest.raises(tf.errors.InvalidArgumentError, match="sample_rate"):
        run(s)


def test_nan_audio_samples_become_silence_and_are_flagged(caplog):
    with caplog.at_level(logging.WARNING, logger="tfnb.summary"):
        (v,) = run(tf.summary.audio("noisy", np.array([[np.nan, 0.5]], np.float32), 100)).value
    np.testing.assert_array_equal(decode_wav(v.audio.encoded_audio_string)[2].ravel(), [0, 16384])
    assert "'noisy'" in caplog.text and "silence" in caplog.text


# ----------------------------------------------------------------------------------------------
# Text and tensor summaries
# ----------------------------------------------------------------------------------------------
def test_text_summary_is_a_string_tensor_for_the_text_plugin():
    (v,) = run(tf.summary.text("notes", tf.constant(["hello", "world"]))).value
    assert v.tag == "notes"
    assert v.metadata.plugin_data.plugin_name == "text"
    assert list(v.tensor.string_val) == [b"hello", b"world"]
    assert [d.size for d in v.tensor.tensor_shape.dim] == [2]
    with pytest.raises(ValueError, match="dtype string"):
        tf.summary.text("t", tf.constant(1.0))


def test_tensor_summary_holds_the_tensor():
    s = tf.summary.tensor_summary("ts", tf.constant([[1, 2]]), summary_description="desc",
                                  display_name="Pretty")
    (v,) = run(s).value
    assert s.op.type == "TensorSummaryV2" and v.tag == "ts"
    assert v.metadata.summary_description == "desc" and v.metadata.display_name == "Pretty"
    assert v.tensor.dtype == tf.int32.as_datatype_enum
    assert [d.size for d in v.tensor.tensor_shape.dim] == [1, 2]
    np.testing.assert_array_equal(np.frombuffer(v.tensor.tensor_content, "<i4"), [1, 2])


def test_tensor_summary_with_nan_is_flagged(caplog):
    with caplog.at_level(logging.WARNING, logger="tfnb.summary"):
        (v,) = run(tf.summary.tensor_summary("t", tf.constant([np.nan, 1.0]))).value
    assert np.isnan(np.frombuffer(v.tensor.tensor_content, "<f4")[0])
    assert "'t'" in caplog.text and "1 of 2" in caplog.text


# ----------------------------------------------------------------------------------------------
# merge / merge_all
# ----------------------------------------------------------------------------------------------
def test_merge_all_is_none_without_summaries():
    tf.constant(1.0)
    assert tf.summary.merge_all() is None


def test_merge_all_merges_every_summary_in_order():
    x = tf.constant([1.0, 2.0])
    m = tf.reduce_mean(x)
    with tf.name_scope("train"):
        tf.summary.scalar("mean", m)
        tf.summary.histogram("x", x)
    tf.summary.text("note", tf.constant("hi"))
    merged = tf.summary.merge_all()
    assert merged.op.type == "MergeSummary" and merged.name == "Merge/MergeSummary:0"
    assert merged not in tf.get_collection(tf.GraphKeys.SUMMARIES)
    s = run(merged)
    assert [v.tag for v in s.value] == ["train/mean", "train/x", "note"]
    assert s.value[0].simple_value == 1.5 and s.value[1].histo.num == 2
    only_train = run(tf.summary.merge_all(scope="train"))
    assert [v.tag for v in only_train.value] == ["train/mean", "train/x"]


def test_merge_rejects_duplicate_tags_at_run_time_and_non_strings_at_construction():
    a = tf.summary.scalar("a", 1.0)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Duplicate tag a"):
        run(tf.summary.merge([a, a]))
    with pytest.raises(TypeError, match="string"):
        tf.summary.merge([tf.constant(1.0)])
    with pytest.raises(tf.errors.InvalidArgumentError, match="parse"):
        run(tf.summary.merge([tf.constant(b"\xff\xff")]))


def test_merge_accepts_a_name_and_collections():
    a, b = tf.summary.scalar("a", 1.0), tf.summary.scalar("b", 2.0)
    m = tf.summary.merge([a, b], collections=["merged"], name="all")
    assert m.name == "all/all:0" and tf.get_collection("merged") == [m]
    assert [v.simple_value for v in run(m).value] == [1.0, 2.0]


# ----------------------------------------------------------------------------------------------
# Around the ops
# ----------------------------------------------------------------------------------------------
def test_interactive_session_evaluates_summaries():
    sess = tf.InteractiveSession()
    try:
        s = tf.summary.scalar("eager", tf.constant(4.0))
        assert Summary.FromString(s.eval()).value[0].simple_value == 4.0
    finally:
        sess.close()


def test_graphs_with_summaries_export_and_import():
    tf.summary.tensor_summary("t", tf.constant([1.0]), summary_description="d")
    tf.summary.scalar("s", tf.constant(2.0))
    gd = tf.get_default_graph().as_graph_def()
    with tf.Graph().as_default():
        tf.import_graph_def(gd, name="")
        merged = tf.summary.merge([tf.get_default_graph().get_tensor_by_name(n)
                                   for n in ("t:0", "s:0")])
        s = run(merged)
    assert [v.tag for v in s.value] == ["t", "s"] and s.value[0].metadata.summary_description == "d"


def test_tf1_proto_classes():
    s = tf.Summary(value=[tf.Summary.Value(tag="manual", simple_value=0.5)])
    assert isinstance(s, tf.Summary) and isinstance(s, tf.summary.Summary)
    assert not isinstance(b"x", tf.Summary)
    assert tf.Summary.FromString(s.SerializeToString()).value[0].tag == "manual"
    log = tf.SessionLog(status=tf.SessionLog.CHECKPOINT, checkpoint_path="/tmp/ckpt")
    assert (tf.SessionLog.START, tf.SessionLog.STOP, tf.SessionLog.CHECKPOINT) == (1, 2, 3)
    assert log.status == 3 and isinstance(tf.Event(session_log=log), tf.Event)


def test_import_tfnb_and_build_summaries_without_tensorboardx():
    code = textwrap.dedent("""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("tensorboardX", "google"):
                    raise ImportError("blocked " + name)
        sys.meta_path.insert(0, Block())
        import tfnb as tf
        s = tf.summary.scalar("loss", tf.constant(1.0))
        assert s.op.type == "ScalarSummary"
        assert not [m for m in sys.modules if m.startswith(("tensorboardX", "google"))]
        try:
            tf.summary.FileWriter("/tmp/never-created-by-tfnb-tests")
        except ImportError as e:
            assert "pip install" in str(e) and "tensorboardX" in str(e), e
        else:
            raise AssertionError("FileWriter without tensorboardX did not raise")
        print("ok")
    """)
    root = pathlib.Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
