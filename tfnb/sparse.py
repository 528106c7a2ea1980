"""``tf.sparse``: sparse-tensor ops under their namespaced names (tfnb.ops.sparse_ops)."""
from .ops.sparse_ops import (SparseTensor, SparseTensorValue, from_dense,  # noqa: F401
                             sparse_add as add, sparse_reduce_sum as reduce_sum,
                             sparse_reorder as reorder, sparse_retain as retain,
                             sparse_tensor_dense_matmul as matmul,
                             sparse_tensor_dense_matmul as sparse_dense_matmul,
                             sparse_tensor_to_dense as to_dense, sparse_transpose as transpose)
