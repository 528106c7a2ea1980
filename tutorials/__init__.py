"""Tutorial programs as importable modules (the notebooks call them)."""
