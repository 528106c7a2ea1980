"""``tfnb.client``: tools around sessions (timeline)."""
from . import timeline  # noqa: F401
