"""A BLAS GEMM callable from tfnb's generated numba kernels, whose machine code numba can cache.

numba's own ``np.dot`` calls SciPy's BLAS through a pointer it bakes into the compiled code, so
numba refuses to cache a kernel using it ("dynamic globals") and every process would compile
the Winograd kernels again (seconds each). Here the kernel receives the address of SciPy's
Fortran ``sgemm``/``dgemm`` (``scipy.linalg.cython_blas``) as an ordinary integer argument and
:func:`gemm` calls through it, so the compiled kernel holds no process-specific pointer.

Imported only by generated kernel modules (it imports numba).
"""
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["gemm", "gemm_address", "claim"]


def gemm_address(dtype):
    """The address of SciPy's Fortran GEMM for float32 or float64 (``dtype``'s name)."""
    from numba.extending import get_cython_function_address
    return get_cython_function_address("scipy.linalg.cython_blas",
                                       {"float32": "sgemm", "float64": "dgemm"}[dtype])


@intrinsic
def gemm(typingctx, fn, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    """Column-major ``C = alpha op(A) op(B) + beta C`` through the Fortran GEMM at address
    ``fn``: ``transa``/``transb`` are the character codes (ord("N") or ord("T")), ``a``,
    ``b``, ``c`` data addresses (``array.ctypes.data``), ``alpha``/``beta`` of the GEMM's
    float type (float32 for sgemm, float64 for dgemm)."""
    if not isinstance(alpha, types.Float) or alpha != beta:
        return None
    sig = types.void(fn, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)

    def codegen(context, builder, signature, args):
        (fn_, ta, tb, m_, n_, k_, al, a_, lda_, b_, ldb_, be, c_, ldc_) = args
        i8, i32 = ir.IntType(8), ir.IntType(32)
        flt = context.get_value_type(signature.args[6])
        fptr = flt.as_pointer()

        def slot(ty, value):
            p = cgutils.alloca_once(builder, ty)
            builder.store(value, p)
            return p

        def int_slot(value, ty):
            return slot(ty, builder.trunc(value, ty) if value.type.width > ty.width
                        else builder.sext(value, ty) if value.type.width < ty.width else value)

        def data(value):
            return builder.inttoptr(value, fptr)

        fnty = ir.FunctionType(ir.VoidType(), [i8.as_pointer(), i8.as_pointer()]
                               + [i32.as_pointer()] * 3 + [fptr, fptr, i32.as_pointer(), fptr,
                                                           i32.as_pointer(), fptr, fptr,
                                                           i32.as_pointer()])
        callee = builder.inttoptr(fn_, fnty.as_pointer())
        builder.call(callee, [int_slot(ta, i8), int_slot(tb, i8), int_slot(m_, i32),
                              int_slot(n_, i32), int_slot(k_, i32), slot(flt, al), data(a_),
                              int_slot(lda_, i32), data(b_), int_slot(ldb_, i32),
                              slot(flt, be), data(c_), int_slot(ldc_, i32)])
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def claim(typingctx, counter):
    """Atomically ``counter[0] += 1``; returns the value before: the next block of work for
    the calling thread (threads that run slower, e.g. on a core another process holds, claim
    fewer blocks; numba's own prange schedule is static)."""
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64):
        return None
    sig = types.int64(counter)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        return builder.atomic_rmw("add", ary.data, ir.Constant(ir.IntType(64), 1), "monotonic")

    return sig, codegen
