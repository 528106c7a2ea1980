"""Keeps the TF1 programs of ../shared/tfcompat that pass today passing (goldens from real TF)."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHECK = os.path.join(os.path.dirname(ROOT), "shared", "tfcompat", "check.py")

# Programs that need only what tfnb implements so far. Grow this list; never shrink it.
PASSING = ["array_ops", "clip_apply_gradients", "cnn_train", "cond_while", "conv_pool",
           "embedding_sgd", "fifo_queue", "losses_xent", "momentum_adagrad", "nn_activations",
           "rmsprop_adam", "feed_fetch", "gradients_api", "indexing_gather", "lstm_unrolled",
           "int_errors_and_legacy",
           "data_pipeline", "dataset_shuffle_bucket", "fixed_length_records", "tfrecord_example",
           "image_ops", "text_lines",
           "reductions_broadcast", "saver_roundtrip", "scopes_reuse", "sgd_mlp", "softmax_regression",
           "variables_control"]


@pytest.mark.skipif(not os.path.exists(CHECK), reason="../shared/tfcompat is not beside the repo")
def test_tfcompat_programs_pass():
    r = subprocess.run([sys.executable, CHECK] + PASSING, cwd=ROOT, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "%d passed, 0 failed" % len(PASSING) in r.stdout
