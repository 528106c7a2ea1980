"""Small utilities shared across tfnb (nested structures)."""
