"""Local devices a session can run on. Today: the host CPU (the devices issue adds virtual
CPUs and CuPy GPUs behind the same interface)."""
import os

__all__ = ["DeviceAttributes", "local_devices"]


class DeviceAttributes:
    """What ``Session.list_devices()`` reports for one device (TF1 field names)."""

    def __init__(self, name, device_type, memory_limit_bytes=0, incarnation=0):
        self.name = name
        self.device_type = device_type
        self.memory_limit_bytes = memory_limit_bytes
        self.incarnation = incarnation

    def __repr__(self):
        return "_DeviceAttributes(%s, %s, %d)" % (self.name, self.device_type, self.memory_limit_bytes)


def _host_memory():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def local_devices(config=None):
    return [DeviceAttributes("/job:localhost/replica:0/task:0/device:CPU:0", "CPU", _host_memory())]
