"""``tensorflow.python.platform`` module paths (re-export shims only)."""
