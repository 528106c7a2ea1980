"""Runs the op test suite once more with every op on a second virtual CPU device.

No GPU exists on the CI machines; this covers the device-agnostic path (placement, one
kernel context per device) with the same kernels (see tests/conftest.py, TFNB_TEST_DEVICE).
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_op_suite_on_second_virtual_cpu():
    if os.environ.get("TFNB_TEST_DEVICE"):
        return  # already inside the second-device run
    env = dict(os.environ, TFNB_TEST_DEVICE="/cpu:1")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                        os.path.join(ROOT, "tests", "ops")], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=1200)
    tail = "\n".join(r.stdout.splitlines()[-15:])
    assert r.returncode == 0, tail + r.stderr[-2000:]
