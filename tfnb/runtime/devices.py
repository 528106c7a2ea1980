"""The devices a session runs on: the host CPU, virtual CPUs, and CUDA GPUs through CuPy.

``ConfigProto(device_count={"CPU": N})`` gives N virtual CPU devices (each with its own
executor thread), so multi-device placement and Send/Recv are real and testable on a
CPU-only machine. ``GPU:n`` devices exist for each CUDA device CuPy sees (CuPy is
imported lazily, only to count devices and to run kernels on them).

Each device carries the numbers the placer's cost model uses: arithmetic rate
(GFLOP/s), memory bandwidth (GB/s) and a fixed per-op launch overhead.
"""
import os

import numpy as np

from ..framework.device_spec import DeviceSpec

__all__ = ["Device", "DeviceAttributes", "local_devices", "list_local_devices"]

LOCAL_JOB = "/job:localhost/replica:0/task:0"

# Cost-model figures (see tfnb/runtime/placer.py). CPU: one NumPy/OpenBLAS worker on this
# machine kind measured ~100 GFLOP/s float32 GEMM and ~13 GB/s copies.
_CPU = dict(gflops=100.0, gbps=13.0, launch_us=1.0)
_GPU = dict(gflops=20000.0, gbps=1500.0, launch_us=8.0)
# Links: a virtual-CPU hop hands a reference to another thread; PCIe copies bytes.
LINK_LATENCY_US = {("CPU", "CPU"): 15.0, ("CPU", "GPU"): 12.0, ("GPU", "CPU"): 12.0,
                   ("GPU", "GPU"): 12.0}
LINK_GBPS = {("CPU", "CPU"): 1e6, ("CPU", "GPU"): 12.0, ("GPU", "CPU"): 12.0, ("GPU", "GPU"): 25.0}
# Between two cluster tasks: a message through distributed's comm (one-way push of a tensor
# frame; ~0.1 ms on loopback, more across a network) over a ~10 Gb/s link.
NETWORK_LATENCY_US = 150.0
NETWORK_GBPS = 1.2


class Device:
    """One device: its full name, type, index, array module and cost-model figures.

    A local device belongs to ``/job:localhost/replica:0/task:0``. A device of a cluster task
    (``tf.Session(target)``) names its task and carries the task's comm ``address``; the
    session never runs kernels on it itself -- its partitions are sent to that task.
    """

    def __init__(self, device_type, index, memory_limit=0, job="localhost", replica=0, task=0,
                 address=None):
        self.device_type = device_type
        self.index = index
        self.job = job
        self.replica = replica
        self.task = task
        self.address = address
        self.task_name = "/job:%s/replica:%d/task:%d" % (job, replica, task)
        self.name = "%s/device:%s:%d" % (self.task_name, device_type, index)
        # Unique among a session's devices: names executor threads and Send/Recv edges.
        self.short_name = "/device:%s:%d" % (device_type, index) if address is None else self.name
        self.memory_limit = memory_limit
        figures = _GPU if device_type == "GPU" else _CPU
        self.gflops = figures["gflops"]
        self.gbps = figures["gbps"]
        self.launch_us = figures["launch_us"]

    @property
    def xp(self):
        """The array module kernels on this device use (numpy, or cupy on a GPU)."""
        if self.device_type == "GPU":
            import cupy
            return cupy
        return np

    @property
    def remote(self):
        """True for a device of a cluster task (its kernels run in that task's process)."""
        return self.address is not None

    def matches(self, spec):
        """Whether this device satisfies the (partial) DeviceSpec ``spec``."""
        if not self.matches_task(spec):
            return False
        if spec.device_type is not None and spec.device_type != self.device_type:
            return False
        return spec.device_index is None or spec.device_index == self.index

    def matches_task(self, spec):
        """Whether this device's job, replica and task satisfy ``spec`` (type/index ignored)."""
        return spec.job in (None, self.job) and spec.replica in (None, self.replica) and \
            spec.task in (None, self.task)

    def __repr__(self):
        return "<Device %s>" % self.name


class DeviceAttributes:
    """What ``list_local_devices`` reports for one device (TF1 field names)."""

    def __init__(self, name, device_type, memory_limit_bytes=0, incarnation=0,
                 physical_device_desc=""):
        self.name = name
        self.device_type = device_type
        self.memory_limit_bytes = memory_limit_bytes
        self.memory_limit = memory_limit_bytes
        self.incarnation = incarnation
        self.physical_device_desc = physical_device_desc

    def __repr__(self):
        return "_DeviceAttributes(%s, %s, %d)" % (self.name, self.device_type,
                                                  self.memory_limit_bytes)


def _host_memory():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def cuda_device_count():
    """How many CUDA devices CuPy sees (0 when CuPy is missing or sees none)."""
    try:
        import cupy
        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:  # noqa: BLE001 - no CuPy, no driver, no device: no GPUs
        return 0


def make_devices(config=None):
    """The :class:`Device` list for a session's config (CPU:0 always first)."""
    counts = dict(getattr(config, "device_count", None) or {})
    n_cpu = max(1, int(counts.get("CPU", 1)))
    n_gpu = cuda_device_count()
    if "GPU" in counts:
        n_gpu = min(n_gpu, int(counts["GPU"]))
    mem = _host_memory()
    devices = [Device("CPU", i, mem) for i in range(n_cpu)]
    for i in range(n_gpu):
        gmem = 0
        try:
            import cupy
            with cupy.cuda.Device(i):
                gmem = cupy.cuda.runtime.memGetInfo()[1]
        except Exception:  # noqa: BLE001
            pass
        devices.append(Device("GPU", i, gmem))
    return devices


def local_devices(config=None):
    """``DeviceAttributes`` of the devices a session with ``config`` gets."""
    return [DeviceAttributes(d.name, d.device_type, d.memory_limit, incarnation=i + 1,
                             physical_device_desc="virtual CPU" if d.device_type == "CPU"
                             else "CUDA device %d" % d.index)
            for i, d in enumerate(make_devices(config))]


def list_local_devices(session_config=None):
    """``device_lib.list_local_devices()``: the local devices (default config)."""
    return local_devices(session_config)


def parse_device(spec_string):
    return DeviceSpec.from_string(spec_string) if spec_string else DeviceSpec()
