"""``tensorflow.python.lib`` module paths (re-export shims only)."""
