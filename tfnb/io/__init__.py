"""File formats shared by many parts of tfnb (TensorFlow's protocol buffers, checkpoint bundles,
tables, records). Submodules are imported where they are used: ``import tfnb`` needs only NumPy."""
