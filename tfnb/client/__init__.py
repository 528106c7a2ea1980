"""``tfnb.client``: tools around sessions (timeline)."""
from . import device_lib, timeline  # noqa: F401
