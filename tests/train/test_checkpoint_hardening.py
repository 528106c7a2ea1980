"""Checkpoints that came from someone else, and saves that crash.

A checkpoint directory may be received from another person. In tfnb's format
(``Saver(format="tfnb")``) its index names the data file, the tensors, their dtypes and shapes,
and the data file is a zip archive whose members may be compressed; in TensorFlow's V2 format
(the default) shard names come from the prefix, entries give offsets and sizes, and table
blocks may claim snappy compression (tests/io/test_tensor_bundle.py has the rest of the V2
cases: truncation, bit flips, lying entries, shards that are FIFOs or links out). Reading one
must never leave its directory, block on a FIFO, read a device, allocate
what a lying header declares or inflate a bomb: each gives a typed error naming the checkpoint
and changes no variable. Saves order their steps as TF1 (checkpoint, then the ``checkpoint``
state file, then deleting old checkpoints) and clean up what killed saves left behind.
"""
import hashlib
import io
import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import tfnb as tf
from checkpoint_helpers import rewrite_bundle_entry
from tfnb.io import crc32c, sstable
from tfnb.train import checkpoint_bundle

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
W = np.arange(6, dtype=np.float32).reshape(3, 2)


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------
def _save(directory, name="m", fmt="tfnb"):
    """Saves variable ``w`` (= W) as checkpoint ``directory/name``; returns the prefix."""
    with tf.Graph().as_default():
        w = tf.Variable(W, name="w")
        with tf.Session() as sess:
            sess.run(w.initializer)
            return tf.train.Saver(format=fmt).save(sess, os.path.join(str(directory), name),
                                                   write_meta_graph=False)


def _index(prefix):
    with open(prefix + ".index") as f:
        return json.load(f)


def _write_index(prefix, index):
    with open(prefix + ".index", "w") as f:
        json.dump(index, f)


def _data_path(prefix):
    return os.path.join(os.path.dirname(prefix), _index(prefix)["data_file"])


def _assert_rejected(prefix, error, match):
    """Both the reader API and Saver.restore raise ``error``; the variable keeps its value."""
    with pytest.raises(error, match=match):
        tf.train.load_variable(prefix, "w")
    with tf.Graph().as_default():
        w = tf.Variable(np.full((3, 2), 7.0, np.float32), name="w")
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(w.initializer)
            with pytest.raises(error, match=match):
                saver.restore(sess, prefix)
            np.testing.assert_array_equal(sess.run(w), np.full((3, 2), 7.0))


def _assert_restores(prefix):
    np.testing.assert_array_equal(tf.train.load_variable(prefix, "w"), W)


def _npy(array, header_shape=None):
    """The .npy bytes of ``array``, optionally with a header declaring another shape."""
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, allow_pickle=False)
    data = buf.getvalue()
    if header_shape is None:
        return data
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": np.lib.format.dtype_to_descr(array.dtype),
                                                "fortran_order": False, "shape": header_shape})
    return head.getvalue() + data[len(data) - array.nbytes:]


def _forge(prefix, members, shapes, compression=zipfile.ZIP_STORED, chunks=None):
    """Replaces checkpoint ``prefix``'s data with a zip of ``members`` ({name: bytes}; or a
    name -> iterable of byte chunks in ``chunks``) and an index (right checksum) declaring
    ``shapes`` ({name: (dtype name, shape)})."""
    index = _index(prefix)
    path = os.path.join(os.path.dirname(prefix), index["data_file"])
    with zipfile.ZipFile(path, "w", compression, allowZip64=True) as z:
        for name, data in members.items():
            z.writestr(name, data)
        for name, parts in (chunks or {}).items():
            with z.open(name, "w", force_zip64=True) as f:
                for part in parts:
                    f.write(part)
    with open(path, "rb") as f:
        index["sha256"] = hashlib.sha256(f.read()).hexdigest()
    index["tensors"] = {n: {"dtype": d, "shape": list(s)} for n, (d, s) in shapes.items()}
    _write_index(prefix, index)
    return path


@pytest.fixture
def peak_memory():
    """Measures the peak of Python and NumPy allocations inside the ``with`` block."""
    class Peak:
        value = None

        def __enter__(self):
            tracemalloc.start()
            return self

        def __exit__(self, *exc):
            self.value = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    return Peak()


# ----------------------------------------------------------------------------------------------
# The data file stays inside the checkpoint's directory and is a regular file
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["../x", "../../x", "ABSOLUTE", "sub/../../x", "", ".", ".."])
def test_data_file_outside_the_directory_is_rejected(tmp_path, name):
    inner = tmp_path / "a" / "b"
    inner.mkdir(parents=True)
    prefix = _save(inner)
    data = _data_path(prefix)
    for target in (tmp_path / "a" / "x", tmp_path / "x"):  # a real, matching data file there
        target.write_bytes(Path(data).read_bytes())
    index = _index(prefix)
    index["data_file"] = str(tmp_path / "x") if name == "ABSOLUTE" else name
    _write_index(prefix, index)
    _assert_rejected(prefix, tf.errors.DataLossError, r"m\.index.*(outside|not a file name)")


def test_symlinked_data_file_must_resolve_inside_the_directory(tmp_path):
    inner = tmp_path / "ckpt"
    inner.mkdir()
    prefix = _save(inner)
    data = _data_path(prefix)
    outside = tmp_path / "elsewhere.bin"
    os.rename(data, outside)
    os.symlink(outside, data)  # a link in the directory pointing out of it
    _assert_rejected(prefix, tf.errors.DataLossError, r"m\.index.*symbolic link.*outside")
    os.remove(data)
    os.rename(outside, inner / "real.bin")
    os.symlink("real.bin", data)  # a link to a file of the same directory is fine
    _assert_restores(prefix)


def test_directories_devices_and_fifos_are_not_data_files(tmp_path):
    prefix = _save(tmp_path)
    index = _index(prefix)
    (tmp_path / "adir").mkdir()
    os.symlink("/dev/zero", tmp_path / "zero")  # would be read until memory runs out
    for name, match in [("adir", "not a regular file"), ("zero", "outside|not a regular file"),
                        ("/dev/zero", "not a file name")]:
        index["data_file"] = name
        _write_index(prefix, index)
        _assert_rejected(prefix, tf.errors.DataLossError, r"m\.index.*(%s)" % match)


def test_a_fifo_data_file_is_rejected_without_blocking(tmp_path):
    prefix = _save(tmp_path)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    index = _index(prefix)
    index["data_file"] = "pipe"
    _write_index(prefix, index)
    outcome = []

    def read():
        try:
            tf.train.load_variable(prefix, "w")
            outcome.append(None)
        except Exception as e:  # noqa: BLE001 - recorded and checked below
            outcome.append(e)
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(20)
    if reader.is_alive():  # unblock the reader stuck in open() before failing
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(20)
        pytest.fail("reading a checkpoint whose data file is a FIFO blocked")
    assert isinstance(outcome[0], tf.errors.DataLossError), outcome
    assert "not a regular file" in str(outcome[0]) and "m.index" in str(outcome[0])


def test_index_that_is_a_fifo_or_too_large_is_rejected(tmp_path, monkeypatch):
    prefix = _save(tmp_path)
    monkeypatch.setenv("TFNB_MAX_CHECKPOINT_INDEX_BYTES", "100")
    with pytest.raises(tf.errors.ResourceExhaustedError, match=r"m\.index.*100 bytes"):
        tf.train.load_variable(prefix, "w")
    monkeypatch.delenv("TFNB_MAX_CHECKPOINT_INDEX_BYTES")
    os.remove(prefix + ".index")
    os.mkfifo(prefix + ".index")
    with pytest.raises(tf.errors.DataLossError, match=r"m\.index.*not a regular file"):
        tf.train.load_variable(prefix, "w")


# ----------------------------------------------------------------------------------------------
# The index schema is validated before any data is read
# ----------------------------------------------------------------------------------------------
def _drop(key):
    return lambda ix: ix.pop(key)


def _set(key, value):
    return lambda ix: ix.__setitem__(key, value)


def _set_w(key, value):
    return lambda ix: ix["tensors"]["w"].__setitem__(key, value)


@pytest.mark.parametrize("change, match", [
    (_drop("tensors"), "'tensors'"),
    (_drop("data_file"), "'data_file'"),
    (_drop("sha256"), "'sha256'"),
    (_drop("version"), "version"),
    (_set("version", "1"), "version"),
    (_set("tensors", [["w", "float32"]]), "'tensors'"),
    (_set("data_file", 7), "data_file"),
    (_set("sha256", 12), "sha256"),
    (_set("sha256", "not hex"), "sha256"),
    (_set("tensors", {"w": "float32"}), "'w'"),
    (_set_w("shape", "3x2"), "shape"),
    (_set_w("shape", [3.0, 2]), "shape"),
    (_set_w("shape", [-3, 2]), "shape"),
    (_set_w("shape", [True, 2]), "shape"),
    (_set_w("shape", [2 ** 70, 2]), "shape"),
    (_set_w("dtype", "float99"), "dtype"),
    (_set_w("dtype", "string"), "dtype"),
    (_set_w("dtype", ["float32"]), "dtype"),
    (lambda ix: ix["tensors"]["w"].pop("shape"), "shape"),
    (lambda ix: ix["tensors"]["w"].update(offset=-4), "offset"),
])
def test_index_with_missing_keys_or_wrong_types_is_data_loss(tmp_path, change, match):
    prefix = _save(tmp_path)
    index = _index(prefix)
    change(index)
    _write_index(prefix, index)
    _assert_rejected(prefix, tf.errors.DataLossError, r"m\.index.*" + match)
    with pytest.raises(tf.errors.DataLossError, match=r"m\.index"):
        tf.train.list_variables(prefix)


def test_index_and_data_must_agree(tmp_path):
    prefix = _save(tmp_path)
    _forge(prefix, {"w.npy": _npy(np.zeros((4, 2), np.float32))}, {"w": ("float32", (3, 2))})
    _assert_rejected(prefix, tf.errors.DataLossError, r"m\.index.*'w'")
    _forge(prefix, {"w.npy": _npy(np.zeros((3, 2), np.float64))}, {"w": ("float32", (3, 2))})
    _assert_rejected(prefix, tf.errors.DataLossError, r"m\.index.*'w'")
    _forge(prefix, {"w.npy": _npy(W), "extra.npy": _npy(W)}, {"w": ("float32", (3, 2))})
    _assert_rejected(prefix, tf.errors.DataLossError, r"m\.index.*extra")
    _forge(prefix, {"v.npy": _npy(W)}, {"w": ("float32", (3, 2))})
    _assert_rejected(prefix, tf.errors.DataLossError, r"m\.index.*'w'")
    _forge(prefix, {"w.npy": _npy(W)}, {"w": ("float32", (3, 2))})
    _assert_restores(prefix)  # a forged but consistent checkpoint is read


def _patch_local_header_offset(path, member, offset):
    """Points ``member``'s central-directory entry at ``offset``; fixes the index checksum."""
    blob = bytearray(Path(path).read_bytes())
    entry = blob.index(b"PK\x01\x02")  # the central directory's first entry
    while blob[entry + 46:entry + 46 + len(member)] != member.encode():
        entry = blob.index(b"PK\x01\x02", entry + 4)
    blob[entry + 42:entry + 46] = offset.to_bytes(4, "little")
    Path(path).write_bytes(bytes(blob))
    return hashlib.sha256(bytes(blob)).hexdigest()


@pytest.mark.parametrize("where", ["overlapping", "beyond the file"])
def test_zip_entries_may_not_overlap_or_lie_outside_the_file(tmp_path, where):
    prefix = _save(tmp_path)
    shapes = {"w": ("float32", (3, 2)), "v": ("float32", (3, 2))}
    path = _forge(prefix, {"w.npy": _npy(W), "v.npy": _npy(W)}, shapes)
    offset = 0 if where == "overlapping" else 10 ** 9  # v's entry made to reuse w's bytes
    index = _index(prefix)
    index["sha256"] = _patch_local_header_offset(path, "v.npy", offset)
    _write_index(prefix, index)
    _assert_rejected(prefix, tf.errors.DataLossError, r"m\.index.*'v.npy' overlaps")


def test_declared_sizes_are_checked_against_the_file_before_allocating(tmp_path, peak_memory):
    prefix = _save(tmp_path)
    huge = (1_000_000_000,)  # 4 GB of float32 declared, 24 bytes present
    _forge(prefix, {"w.npy": _npy(W.reshape(-1), header_shape=huge)}, {"w": ("float32", huge)})
    with peak_memory:
        with pytest.raises(tf.errors.DataLossError, match=r"m\.index.*'w'.*4000000000 bytes"):
            tf.train.load_variable(prefix, "w")
    assert peak_memory.value < 8 << 20


# ----------------------------------------------------------------------------------------------
# Compressed members inflate at most to a configurable limit
# ----------------------------------------------------------------------------------------------
def _zeros_npy_chunks(count, chunk=1 << 22):
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": "<f4", "fortran_order": False,
                                                "shape": (count,)})
    yield head.getvalue()
    left = count * 4
    zeros = bytes(chunk)
    while left:
        yield zeros[:min(chunk, left)]
        left -= min(chunk, left)


def test_deflated_bomb_is_refused_at_the_configured_limit(tmp_path, monkeypatch, peak_memory):
    prefix = _save(tmp_path)
    count = 16 << 20  # 64 MiB of float32 zeros, about 64 KB once deflated
    path = _forge(prefix, {}, {"w": ("float32", (count,))}, zipfile.ZIP_DEFLATED,
                  chunks={"w.npy": _zeros_npy_chunks(count)})
    assert os.path.getsize(path) < 1 << 20
    monkeypatch.setenv("TFNB_MAX_CHECKPOINT_INFLATED_BYTES", str(1 << 20))
    with peak_memory:
        with pytest.raises(tf.errors.ResourceExhaustedError,
                           match=r"m\.index.*TFNB_MAX_CHECKPOINT_INFLATED_BYTES"):
            tf.train.load_variable(prefix, "w")
    assert peak_memory.value < 4 << 20
    monkeypatch.setenv("TFNB_MAX_CHECKPOINT_INFLATED_BYTES", str(128 << 20))
    with peak_memory:
        value = tf.train.load_variable(prefix, "w")  # under the limit: read, streaming
    assert value.shape == (count,) and not value.any()
    assert peak_memory.value < (64 << 20) + (8 << 20)


@pytest.mark.slow
def test_default_inflation_limit_refuses_a_1_5_mb_file_declaring_1_5_gb(tmp_path, peak_memory):
    prefix = _save(tmp_path)
    count = 375_000_000  # 1.5 GB of float32 zeros: about 1.5 MB once deflated
    data = _data_path(prefix)
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        with z.open("w.npy", "w", force_zip64=True) as f:
            for part in _zeros_npy_chunks(count, chunk=16 << 20):
                f.write(part)
    assert os.path.getsize(data) < 2 << 20
    index = _index(prefix)
    with open(data, "rb") as f:
        index["sha256"] = hashlib.sha256(f.read()).hexdigest()
    index["tensors"] = {"w": {"dtype": "float32", "shape": [count]}}
    _write_index(prefix, index)
    with peak_memory:
        with pytest.raises(tf.errors.ResourceExhaustedError, match=r"m\.index.*inflate"):
            tf.train.load_variable(prefix, "w")
    assert peak_memory.value < 16 << 20


# ----------------------------------------------------------------------------------------------
# TensorFlow's V2 format: what its files can claim is checked too
# ----------------------------------------------------------------------------------------------
def test_v2_shard_names_come_from_the_prefix_never_from_the_index(tmp_path):
    prefix = _save(tmp_path, fmt="tf")
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "m.data-00000-of-00001", "m.index"]
    # an index cannot name a path: only shard numbers, checked against the header's count
    os.rename(prefix + ".data-00000-of-00001", tmp_path / "elsewhere")
    os.symlink(os.path.join("..", os.path.basename(tmp_path), "elsewhere"),
               prefix + ".data-00000-of-00001")  # a link that stays inside is followed
    _assert_restores(prefix)
    os.remove(prefix + ".data-00000-of-00001")
    os.symlink("/dev/zero", prefix + ".data-00000-of-00001")
    _assert_rejected(prefix, tf.errors.DataLossError, r"data-00000-of-00001.*outside")


def test_v2_data_shard_that_is_a_fifo_is_rejected_without_blocking(tmp_path):
    prefix = _save(tmp_path, fmt="tf")
    os.remove(prefix + ".data-00000-of-00001")
    os.mkfifo(prefix + ".data-00000-of-00001")
    outcome = []
    reader = threading.Thread(target=lambda: outcome.append(_raises(
        lambda: tf.train.load_variable(prefix, "w"))), daemon=True)
    reader.start()
    reader.join(20)
    assert not reader.is_alive(), "reading a FIFO shard blocked"
    assert isinstance(outcome[0], tf.errors.DataLossError) and \
        "not a regular file" in str(outcome[0])


def _raises(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the caller checks it
        return e
    return None


def test_v2_sizes_are_checked_against_the_shard_before_allocating(tmp_path, peak_memory):
    prefix = _save(tmp_path, fmt="tf")
    rewrite_bundle_entry(prefix, "w", shape=[1000000000], size=4000000000)
    with peak_memory:
        _assert_rejected(prefix, tf.errors.DataLossError,
                         r"data-00000-of-00001.*has 24 bytes.*truncated")
    assert peak_memory.value < 16 << 20


def test_v2_index_blocks_claiming_compression_are_refused(tmp_path):
    """Table blocks may claim snappy compression: tfnb inflates nothing (no snappy, no bomb)."""
    prefix = _save(tmp_path, fmt="tf")
    data = bytearray(Path(prefix + ".index").read_bytes())
    footer = len(data) - sstable.FOOTER_SIZE
    (offset, size), _ = sstable._decode_handle(bytes(data), footer, len(data) - 8)
    end = offset + size  # the metaindex block's trailer: compression byte, masked CRC
    data[end] = sstable.SNAPPY_COMPRESSION
    data[end + 1:end + 5] = struct.pack(
        "<I", crc32c.mask(crc32c.crc32c(bytes(data[offset:end + 1]))))
    Path(prefix + ".index").write_bytes(bytes(data))
    _assert_rejected(prefix, tf.errors.UnimplementedError, r"m\.index.*snappy")


# ----------------------------------------------------------------------------------------------
# Saves: TF1's order, and no temp files left behind by killed saves
# ----------------------------------------------------------------------------------------------
_STEP_SCRIPT = textwrap.dedent("""
    import importlib, os, sys, numpy as np
    sys.path.insert(0, %r)
    import tfnb as tf
    directory, fail_at, how, fmt = sys.argv[1:5]
    module_name, fail_at = fail_at.split(":")
    saver_mod = importlib.import_module(module_name)
    w = tf.Variable(np.zeros((50, 50), np.float32), name="w")
    step = tf.Variable(0, name="step", trainable=False)
    bump = tf.group(w.assign_add(tf.ones([50, 50])), step.assign_add(1))
    saver = tf.train.Saver(max_to_keep=1, format=fmt)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(bump)
        saver.save(sess, os.path.join(directory, "model.ckpt"), global_step=step)
        sess.run(bump)
        real = getattr(saver_mod, fail_at)
        def fail(*args, **kwargs):
            if how == "exit":
                os._exit(3)
            raise RuntimeError("injected failure in " + fail_at)
        setattr(saver_mod, fail_at, fail)
        try:
            saver.save(sess, os.path.join(directory, "model.ckpt"), global_step=step)
        except Exception as e:  # the injected failure, as the session reports it
            print(type(e).__name__, e)
""")

_SAVER = "tfnb.train.saver:"
STEPS = [("tfnb", "tfnb.train.saver:write_checkpoint"),
         ("tf", "tfnb.io.tensor_bundle:write_bundle")] + [
    (fmt, _SAVER + step) for fmt in ("tf", "tfnb")
    for step in ("_write_meta_graph", "update_checkpoint_state", "_delete_checkpoint")]


@pytest.mark.parametrize("how", ["raise", "exit"])
@pytest.mark.parametrize("fmt, fail_at", STEPS)
def test_a_failure_between_save_steps_keeps_latest_checkpoint_complete(tmp_path, fmt, fail_at,
                                                                       how):
    script = tmp_path / "steps.py"
    script.write_text(_STEP_SCRIPT % ROOT)
    ckpt_dir = tmp_path / "ckpt"
    ckpt_dir.mkdir()
    run = subprocess.run([sys.executable, str(script), str(ckpt_dir), fail_at, how, fmt],
                         capture_output=True, timeout=120)
    assert run.returncode == (3 if how == "exit" else 0), run.stderr.decode()[-2000:]
    latest = tf.train.latest_checkpoint(str(ckpt_dir))
    assert latest is not None, sorted(os.listdir(ckpt_dir))
    step = tf.train.load_variable(latest, "step")
    assert step in (1, 2) and latest.endswith("model.ckpt-%d" % step)
    np.testing.assert_array_equal(tf.train.load_variable(latest, "w"), np.full((50, 50), step))
    assert os.path.exists(latest + ".meta")  # the meta graph is written before the state file
    if fail_at.endswith("_delete_checkpoint"):
        assert step == 2  # the state file was updated before anything was deleted


_LOOP_SCRIPT = textwrap.dedent("""
    import os, sys, numpy as np
    sys.path.insert(0, %r)
    import tfnb as tf
    w = tf.Variable(np.zeros((1000, 1000), np.float32), name="w")
    step = tf.Variable(0, name="step", trainable=False)
    bump = tf.group(w.assign_add(tf.ones([1000, 1000])), step.assign_add(1))
    saver = tf.train.Saver(max_to_keep=1, format=sys.argv[3])
    with tf.Session() as sess:
        latest = tf.train.latest_checkpoint(sys.argv[1])
        if latest:
            saver.restore(sess, latest)
        else:
            sess.run(tf.global_variables_initializer())
        sess.run(bump)
        saver.save(sess, os.path.join(sys.argv[1], "model.ckpt"), global_step=step)
        print("saved", flush=True)
        for _ in range(int(sys.argv[2])):
            sess.run(bump)
            saver.save(sess, os.path.join(sys.argv[1], "model.ckpt"), global_step=step)
""")


def _temp_files(directory):
    """Temporary files of saves in ``directory`` (this naming and that of earlier versions)."""
    return sorted(f for f in os.listdir(directory) if ".tfnb-tmp-" in f or ".tmp-" in f)


@pytest.mark.parametrize("fmt", ["tf", "tfnb"])
def test_kill_9_during_saves_with_max_to_keep_1(tmp_path, fmt):
    script = tmp_path / "loop.py"
    script.write_text(_LOOP_SCRIPT % ROOT)
    ckpt_dir = tmp_path / "ckpt"
    ckpt_dir.mkdir()
    last_step = 0
    for delay in (0.02, 0.07, 0.15, 0.31):
        p = subprocess.Popen([sys.executable, str(script), str(ckpt_dir), "1000", fmt],
                             stdout=subprocess.PIPE)
        assert p.stdout.readline().strip() == b"saved"
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
        p.stdout.close()
        latest = tf.train.latest_checkpoint(str(ckpt_dir))
        assert latest is not None, sorted(os.listdir(ckpt_dir))
        step = int(tf.train.load_variable(latest, "step"))
        assert step > last_step and latest.endswith("-%d" % step)
        np.testing.assert_array_equal(tf.train.load_variable(latest, "w"),
                                      np.full((1000, 1000), step, np.float32))
        last_step = step
    # The next save (here: one more run that restores, saves twice and exits) removes the
    # temporary files the killed saves left.
    run = subprocess.run([sys.executable, str(script), str(ckpt_dir), "1", fmt],
                         capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    assert _temp_files(ckpt_dir) == []
    assert int(tf.train.load_variable(tf.train.latest_checkpoint(str(ckpt_dir)), "step")) == \
        last_step + 2


def _dead_pid():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_stale_temp_rule_spares_live_savers(tmp_path):
    prefix = _save(tmp_path)
    data_name = _index(prefix)["data_file"]
    host = checkpoint_bundle._HOST
    dead = _dead_pid()
    stale = ["m.data-0123456789abcdef.tfnb-tmp-%d-%s-0badc0de" % (dead, host),
             "other.ckpt-7.index.tfnb-tmp-%d-%s-00000001" % (dead, host),
             "m.index.tmp-%d-123456789" % dead,  # the naming of earlier tfnb versions
             "m.data-00000-of-00001.tfnb-tmp-%d-%s-0badc0de" % (dead, host)]  # a V2 save's
    live = ["m.index.tfnb-tmp-%d-%s-0000beef" % (os.getpid(), host),   # this process: live
            "m.index.tfnb-tmp-%d-otherhost-0000beef" % dead,  # another host: not known dead
            "m.index.tmp-%d-987654321" % dead,  # old naming, but recent
            "notes.txt", "m.data-0123456789abcdef.tfnb-tmp-x"]
    for name in stale + live:
        (tmp_path / name).write_bytes(b"partial")
    old = time.time() - checkpoint_bundle.STALE_TEMP_SECONDS - 60
    os.utime(tmp_path / stale[2], (old, old))
    _save(tmp_path, fmt="tf")  # either format's save cleans up
    left = set(os.listdir(tmp_path))
    assert not left & set(stale)
    assert set(live) <= left
    old_other_host = tmp_path / live[1]
    os.utime(old_other_host, (old, old))  # an hour without a write: abandoned anywhere
    _save(tmp_path)
    assert not old_other_host.exists()
    assert data_name in os.listdir(tmp_path)
