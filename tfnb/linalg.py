"""``tf.linalg``: linear algebra under TF 1.15's namespaced names (tfnb.ops.linalg_ops)."""
from .ops.array_ops import matrix_transpose, matrix_transpose as transpose  # noqa: F401
from .ops.clip_ops import global_norm  # noqa: F401
from .ops.linalg_ops import (adjoint, cholesky, cholesky_solve, cross, eye, logdet,  # noqa: F401
                             lstsq, matrix_band_part as band_part, matrix_determinant as det,
                             matrix_diag as diag, matrix_diag_part as diag_part,
                             matrix_inverse as inv, matrix_rank, matrix_set_diag as set_diag,
                             matrix_solve as solve, matrix_triangular_solve as triangular_solve,
                             matvec, norm, normalize, pinv, qr, self_adjoint_eig as eigh,
                             self_adjoint_eigvals as eigvalsh, svd, trace)
from .ops.linalg_ops import diag as tensor_diag, diag_part as tensor_diag_part  # noqa: F401
from .ops.linalg_ops import log_matrix_determinant as slogdet  # noqa: F401
from .ops.matmul_ops import einsum, matmul, tensordot  # noqa: F401
from .ops.nn_ops import l2_normalize  # noqa: F401
