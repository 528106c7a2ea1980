"""String ops against Python's own string functions, TF1's documented examples, and typed
errors for unparsable input."""
import base64

import numpy as np
import pytest

import tfnb as tf
from tfnb.framework import errors


def _run(t):
    with tf.Session() as sess:
        return sess.run(t)


def test_string_join_broadcasts_scalars():
    got = _run(tf.string_join(["ab", ["c", "d"]], separator="-"))
    assert got.tolist() == [b"ab-c", b"ab-d"]
    assert _run(tf.strings.join([["x"], ["y"]])).tolist() == [b"xy"]


def test_reduce_join_tf1_examples():
    a = [["a", "b"], ["c", "d"]]
    assert _run(tf.reduce_join(a, 0)).tolist() == [b"ac", b"bd"]
    assert _run(tf.reduce_join(a, 1)).tolist() == [b"ab", b"cd"]
    assert _run(tf.reduce_join(a, -2)).tolist() == [b"ac", b"bd"]
    assert _run(tf.reduce_join(a, 0, keep_dims=True)).tolist() == [[b"ac", b"bd"]]
    assert _run(tf.reduce_join(a, 1, keep_dims=True)).tolist() == [[b"ab"], [b"cd"]]
    assert _run(tf.reduce_join(a, 0, separator=".")).tolist() == [b"a.c", b"b.d"]
    assert _run(tf.reduce_join(a, [0, 1])) == b"acbd"
    assert _run(tf.reduce_join(a, [1, 0])) == b"abcd"
    assert _run(tf.reduce_join(a, [])).tolist() == [[b"a", b"b"], [b"c", b"d"]]
    assert _run(tf.strings.reduce_join(a)) == b"abcd"
    x = tf.constant(np.array([[["p", "q", "r"]] * 2] * 4))
    assert tf.reduce_join(x, [0, 2]).shape.as_list() == [2]
    with pytest.raises(ValueError, match="Invalid reduction dimension"):
        tf.reduce_join(a, 2)


def test_as_string():
    v = np.array([1.5, -2.0, 1e10], np.float32)
    assert _run(tf.as_string(v)).tolist() == [("%f" % x).encode() for x in v]
    assert _run(tf.as_string(v, precision=2)).tolist() == [("%.2f" % x).encode() for x in v]
    assert _run(tf.as_string(v, scientific=True)).tolist() == [("%e" % x).encode() for x in v]
    assert _run(tf.as_string(v, shortest=True)).tolist() == [("%g" % x).encode() for x in v]
    assert _run(tf.as_string(7, width=3, fill="0")) == b"007"
    assert _run(tf.as_string([-7, 12], width=4)).tolist() == [b"  -7", b"  12"]
    assert _run(tf.as_string([True, False])).tolist() == [b"true", b"false"]
    assert _run(tf.as_string(np.array([1 + 2j], np.complex64))).tolist() == \
        [b"(1.000000,2.000000)"]
    with pytest.raises(ValueError, match="both scientific and shortest"):
        tf.as_string(1.0, scientific=True, shortest=True)
    with pytest.raises(TypeError, match="string"):
        tf.as_string("already a string")


def test_substr_and_length():
    assert _run(tf.substr([b"Hello", b"World"], 1, 3)).tolist() == [b"ell", b"orl"]
    assert _run(tf.substr(["Hello", "World"], [1, 2], [3, 1])).tolist() == [b"ell", b"r"]
    assert _run(tf.substr("Hello", -3, 2)) == b"ll"
    assert _run(tf.substr("Hello", 3, 10)) == b"lo"
    assert _run(tf.substr("héllo", 1, 2, unit="UTF8_CHAR")) == "él".encode()
    with pytest.raises(errors.InvalidArgumentError, match="pos 9 out of range"):
        _run(tf.substr("Hello", tf.placeholder_with_default(9, []), 1))
    words = ["", "a", "héllo", "tab\there"]
    assert _run(tf.strings.length(words)).tolist() == [len(w.encode()) for w in words]
    assert _run(tf.strings.length(words, unit="UTF8_CHAR")).tolist() == [len(w) for w in words]


def test_string_split_tf1():
    st = _run(tf.string_split(["hello world", "a b  c", ""]))
    assert st.indices.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1], [1, 2]]
    assert st.values.tolist() == [b"hello", b"world", b"a", b"b", b"c"]
    assert st.dense_shape.tolist() == [3, 3]
    keep = _run(tf.string_split(["a  b"], skip_empty=False))
    assert keep.values.tolist() == [b"a", b"", b"b"]
    assert _run(tf.string_split(["a,b;c"], delimiter=",;")).values.tolist() == [b"a", b"b", b"c"]
    assert _run(tf.string_split(["abc"], delimiter="")).values.tolist() == [b"a", b"b", b"c"]
    dense = _run(tf.sparse.to_dense(tf.string_split(["x y", "z"]), default_value=""))
    assert dense.tolist() == [[b"x", b"y"], [b"z", b""]]
    with pytest.raises(ValueError, match="vector"):
        tf.string_split([["a b"]])


def test_strings_split_is_python_split():
    texts = ["hello  world", " a b c ", "a,,b"]
    for sep, maxsplit in [(None, -1), (",", -1), (" ", 1)]:
        st = _run(tf.strings.split(texts, sep=sep, maxsplit=maxsplit))
        want = [t.encode().split(None if sep is None else sep.encode(), maxsplit) for t in texts]
        assert st.values.tolist() == [w for ws in want for w in ws]
        assert st.dense_shape.tolist() == [3, max(len(w) for w in want)]
    rt = tf.strings.split(texts, sep=",", result_type="RaggedTensor")
    assert _run(rt).to_list() == [t.encode().split(b",") for t in texts]


def test_string_to_number():
    got = _run(tf.string_to_number(["1.5", "-2e3", " 7 ", "inf"]))
    assert got.dtype == np.float32 and got.tolist() == [1.5, -2000.0, 7.0, np.inf]
    got = _run(tf.strings.to_number(["12", "-7"], out_type=tf.int64))
    assert got.dtype == np.int64 and got.tolist() == [12, -7]
    for bad, dtype in [("abc", tf.float32), ("1_0", tf.float32), ("1.5", tf.int32),
                       ("99999999999", tf.int32)]:
        t = tf.string_to_number(tf.placeholder_with_default([bad], [1]), out_type=dtype)
        with pytest.raises(errors.InvalidArgumentError, match="could not correctly convert"):
            _run(t)
    with pytest.raises(TypeError, match="out_type"):
        tf.string_to_number(["1"], out_type=tf.int8)


def test_strip_case_regex_base64():
    assert _run(tf.string_strip(["  hi \n", "\tx"])).tolist() == [b"hi", b"x"]
    assert _run(tf.strings.lower(["HeLLo", "ÉA"])).tolist() == [b"hello", "Éa".encode()]
    assert _run(tf.strings.upper(["héllo"], encoding="utf-8")).tolist() == ["HÉLLO".encode()]
    assert _run(tf.regex_replace(["a1b22", "x"], r"\d+", "#")).tolist() == [b"a#b#", b"x"]
    assert _run(tf.regex_replace(["a1b2"], r"(\d)", r"<\1>", replace_global=False)).tolist() \
        == [b"a<1>b2"]
    assert _run(tf.strings.regex_replace(["ab"], "b", r"[\0]")).tolist() == [b"a[b]"]
    assert _run(tf.strings.regex_full_match(["abc", "abd", "abcc"], "ab[c]")).tolist() == \
        [True, False, False]
    data = [b"hello world!", b"\x00\xff?>", b""]
    enc = _run(tf.encode_base64(data))
    assert enc.tolist() == [base64.urlsafe_b64encode(d).rstrip(b"=") for d in data]
    assert _run(tf.encode_base64(data, pad=True)).tolist() == \
        [base64.urlsafe_b64encode(d) for d in data]
    assert _run(tf.decode_base64(enc)).tolist() == data
    with pytest.raises(errors.InvalidArgumentError, match="base64"):
        _run(tf.decode_base64(tf.placeholder_with_default(["a$b"], [1])))
    with pytest.raises(errors.InvalidArgumentError, match="Invalid pattern"):
        _run(tf.regex_replace(["a"], tf.placeholder_with_default("(", []), "x"))


def test_unsorted_segment_join():
    got = _run(tf.strings.unsorted_segment_join(["a", "b", "c", "d"], [1, 0, 1, -1], 3, ","))
    assert got.tolist() == [b"b", b"a,c", b""]
    got = _run(tf.strings.unsorted_segment_join([["Y", "q"], ["c", "a"]], [1, 0], 2))
    assert got.tolist() == [[b"c", b"a"], [b"Y", b"q"]]
    with pytest.raises(errors.InvalidArgumentError, match="out of range"):
        _run(tf.strings.unsorted_segment_join(["a"], tf.placeholder_with_default([3], [1]), 2))


def test_string_ops_run_on_the_cpu_only():
    from tfnb.framework.registry import get_op_def
    for name in ("ReduceJoin", "AsString", "Substr", "StringSplit", "RegexReplace"):
        assert get_op_def(name).device_types == ("CPU",)


# FarmHash Fingerprint64 reference values (Guava's FarmHashFingerprint64Test and a port's
# known outputs), one or more per length class: <=16, 17-32, 33-64, >64 bytes.
FINGERPRINTS = {b"": 11160318154034397263, b"Q": 13816109650407654260,
                b"e#p8": 252499459662674074, b"test": 8581389452482819506,
                b"K6Pjv<>ad": 16506019169567922731,
                b"T#e:),mqALpU]hrJ%f.*|=&r": 11789374840096016445,
                b"test" * 8: (-4196240717365766262) % (1 << 64),
                b"ECCD828C-5D7A-4C8B-9A1B-F244747E96C3": 9693850515132481856,
                b"F7479877-4690-4A44-AFC9-8FE987EA512F:some_other_id": 6862335115798125349,
                b"test" * 64: 3500507768004279527}


def test_string_to_hash_bucket_fast_is_farmhash_fingerprint64():
    words = list(FINGERPRINTS)
    for buckets in (1000, 2 ** 62 + 7):
        got = _run(tf.string_to_hash_bucket_fast(words, buckets))
        assert got.dtype == np.int64
        assert got.tolist() == [FINGERPRINTS[w] % buckets for w in words]
    # TF's documented example.
    assert _run(tf.strings.to_hash_bucket_fast(["Hello", "TensorFlow", "2.x"], 3)).tolist() \
        == [0, 2, 2]
    with pytest.raises(ValueError, match="num_buckets"):
        tf.string_to_hash_bucket_fast(["a"], 0)
