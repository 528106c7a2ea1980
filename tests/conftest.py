import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gradcheck import array_modules  # noqa: E402 - tests/ is on sys.path from here on


def pytest_sessionstart(session):
    """Fills the numba kernel cache before the first test (tfnb/runtime/warmup.py): a test's
    subprocesses (cluster tasks, notebook kernels) then load the kernels instead of each
    compiling them inside a step with a deadline. Seconds on a cold cache, ~0.5 s warm."""
    from tfnb.runtime.warmup import compile_kernels
    compile_kernels()


@pytest.fixture(params=array_modules())
def backend(request):
    """Each array module a kernel test runs on (tests/gradcheck.py: numpy, cupy with a GPU)."""
    return request.param


@pytest.fixture(autouse=True)
def _fresh_default_graph():
    import tfnb as tf
    tf.reset_default_graph()
    yield


# TFNB_TEST_DEVICE=/cpu:1 runs tests with every graph under that device on a session with two
# virtual CPUs: the device-agnostic kernel path on a second device (tests/test_second_device.py).
_TEST_DEVICE = os.environ.get("TFNB_TEST_DEVICE")
if _TEST_DEVICE:
    from tfnb.framework.graph import Graph
    from tfnb.runtime.session import ConfigProto

    _graph_init = Graph.__init__
    _config_init = ConfigProto.__init__

    def _graph_init_on_device(self):
        _graph_init(self)
        self._device_stack.append(_TEST_DEVICE)

    def _config_init_two_cpus(self, *args, **kwargs):
        _config_init(self, *args, **kwargs)
        self.device_count.setdefault("CPU", 2)

    Graph.__init__ = _graph_init_on_device
    ConfigProto.__init__ = _config_init_two_cpus
