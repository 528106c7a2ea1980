"""``device_lib.list_local_devices()``: the devices a session would get."""
from ..runtime.devices import list_local_devices  # noqa: F401
