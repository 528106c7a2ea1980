"""Shim for ``tensorflow.core.protobuf`` (re-exports only)."""
