"""Shim for TF1's ``tensorflow.core`` module paths (re-exports only)."""
