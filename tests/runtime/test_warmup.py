"""compile_kernels fills the numba cache so that a fresh process loads, not compiles."""
import os
import subprocess
import sys

import pytest

from tfnb.runtime.passes import fusion_codegen

pytestmark = pytest.mark.skipif(not fusion_codegen.available(), reason="needs numba")

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _warm(cache):
    env = dict(os.environ, TFNB_CACHE_DIR=str(cache))
    subprocess.run([sys.executable, "-m", "tfnb.runtime.warmup"], env=env, cwd=_ROOT,
                   capture_output=True, text=True, timeout=600, check=True)
    return {os.path.join(d, f): os.stat(os.path.join(d, f)).st_mtime_ns
            for d, _, files in os.walk(cache) for f in files}


def test_second_process_loads_the_kernels_the_first_compiled(tmp_path):
    first = _warm(tmp_path)
    kinds = {os.path.basename(p).split("_")[1] for p in first
             if os.path.basename(p).startswith("tfnb_") and p.endswith(".py")}
    assert {"pool", "sparse", "winograd", "patch"} <= kinds, kinds
    machine_code = [p for p in first if p.endswith(".nbc")]
    assert len(machine_code) >= 8, machine_code
    # A second process finds every kernel in the cache: it writes no new machine code.
    second = _warm(tmp_path)
    assert {p: t for p, t in second.items() if p.endswith((".nbc", ".nbi"))} == \
        {p: t for p, t in first.items() if p.endswith((".nbc", ".nbi"))}
