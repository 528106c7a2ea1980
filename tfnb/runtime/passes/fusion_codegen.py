"""Code generation for fused elementwise kernels (numba), cached in memory and on disk.

Each fusible op type has a rule turning its inputs' scalar expressions into the scalar
expression of its output, written to round exactly as the op's NumPy kernel does: every
result is cast back to the op's output dtype (numba widens int32 arithmetic to int64; the
cast wraps as NumPy's int32 arithmetic does), literals carry the operand's dtype (as NumPy's
weak Python scalars do), ``Maximum``/``Minimum`` return the NaN operand as ``np.maximum``
does, and kernels are compiled with ``error_model="numpy"`` (x/0 is inf/nan, not an
exception) and without fastmath.

A kernel is generated for one structure -- the member ops, how they connect, the dtypes, and
how each external input is laid out against the loop (full, row, column or scalar, see
``layout``) -- and compiled by numba with ``parallel=True`` (``prange`` over the outer loop).
The source goes to a file in the user's cache directory (``$TFNB_CACHE_DIR`` or
``~/.cache/tfnb``, ``fusion/``), and numba caches its machine code beside it
(``cache=True``), so a later process loads it instead of compiling again (~0.1-0.8 s).
"""
import hashlib
import importlib.util
import os
import sys
import threading

import numpy as np

__all__ = ["RULES", "DTYPES", "available", "compile_kernel", "cache_dir", "layout"]

#: Dtypes a fused kernel computes in (float16/complex/bool values stay with NumPy).
DTYPES = ("float32", "float64", "int32", "int64")
_FLOAT = ("float32", "float64")
_ALL = DTYPES


def _lit(dt, v):
    return "%s(%r)" % (dt, v)


def _max(dt, a, b):
    return "(%s if (%s >= %s or %s != %s) else %s)" % (a, a, b, a, a, b)


def _min(dt, a, b):
    return "(%s if (%s <= %s or %s != %s) else %s)" % (a, a, b, a, a, b)


def _sigmoid(dt, x):
    # The stable form of the NumPy fallback kernel: exp(-|x|) never overflows.
    e = "np.exp(-np.abs(%s))" % x
    r = "(%s(1) / (%s(1) + %s))" % (dt, dt, e)
    return "(%s if %s >= %s(0) else %s * %s)" % (r, x, dt, e, r)


# op type -> (dtypes it fuses for, rule(out_dtype, attrs, *input expressions) -> expression).
# Expressions are cast to the output dtype by the generator.
RULES = {
    "Add": (_ALL, lambda dt, a, x, y: "%s + %s" % (x, y)),
    "AddV2": (_ALL, lambda dt, a, x, y: "%s + %s" % (x, y)),
    "BiasAdd": (_ALL, lambda dt, a, x, y: "%s + %s" % (x, y)),
    "Sub": (_ALL, lambda dt, a, x, y: "%s - %s" % (x, y)),
    "Mul": (_ALL, lambda dt, a, x, y: "%s * %s" % (x, y)),
    "RealDiv": (_FLOAT, lambda dt, a, x, y: "%s / %s" % (x, y)),
    "Maximum": (_ALL, lambda dt, a, x, y: _max(dt, x, y)),
    "Minimum": (_ALL, lambda dt, a, x, y: _min(dt, x, y)),
    "SquaredDifference": (_ALL, lambda dt, a, x, y: "(%s - %s) * (%s - %s)" % (x, y, x, y)),
    "Neg": (_ALL, lambda dt, a, x: "-%s" % x),
    "Square": (_ALL, lambda dt, a, x: "%s * %s" % (x, x)),
    "Relu": (_ALL, lambda dt, a, x: _max(dt, x, _lit(dt, 0))),
    "ReluGrad": (_ALL, lambda dt, a, g, y: "%s * (%s if %s > %s else %s)"
                 % (g, _lit(dt, 1), y, _lit(dt, 0), _lit(dt, 0))),
    "Exp": (_FLOAT, lambda dt, a, x: "np.exp(%s)" % x),
    "Log": (_FLOAT, lambda dt, a, x: "np.log(%s)" % x),
    "Tanh": (_FLOAT, lambda dt, a, x: "np.tanh(%s)" % x),
    "Sqrt": (_FLOAT, lambda dt, a, x: "np.sqrt(%s)" % x),
    "Rsqrt": (_FLOAT, lambda dt, a, x: "%s / np.sqrt(%s)" % (_lit(dt, 1), x)),
    "Sigmoid": (_FLOAT, lambda dt, a, x: _sigmoid(dt, x)),
    "TanhGrad": (_FLOAT, lambda dt, a, y, g: "%s * (%s - %s * %s)" % (g, _lit(dt, 1), y, y)),
    "SigmoidGrad": (_FLOAT, lambda dt, a, y, g: "%s * (%s * (%s - %s))"
                    % (g, y, _lit(dt, 1), y)),
    "Cast": (_ALL, lambda dt, a, x: x),  # the generator's cast to the output dtype is the op
}


def fusible_cast(src, dst):
    """Casts a fused kernel does as NumPy's ``astype``: between floats, integer -> float,
    integer -> integer (wrapping). Float -> integer (undefined for NaN/out of range) stays
    with NumPy."""
    return src in DTYPES and dst in DTYPES and not (src in _FLOAT and dst not in _FLOAT)


def cache_dir():
    """Where generated kernels and numba's machine code are kept (never in the repository)."""
    root = os.environ.get("TFNB_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "tfnb")
    return os.path.join(root, "fusion")


_available = None


def available():
    """Whether numba can be imported (checked once, without importing it)."""
    global _available
    if _available is None:
        _available = importlib.util.find_spec("numba") is not None
    return _available


def layout(shapes, out_shape):
    """How to loop over ``out_shape`` and read each input.

    Returns (mode, (M, K), kinds): mode "flat" loops over M elements and every input is
    "f" (full, read at i) or "s" (one element); mode "grid" loops over an [M, K] view with
    inputs "f" ([M, K]), "r" (a row [K] repeated), "c" (a column [M]) or "s". Inputs that
    broadcast in another pattern are "b": the caller materializes them (full).
    """
    r = len(out_shape)
    size = int(np.prod(out_shape)) if r else 1
    padded = [(1,) * (r - len(s)) + tuple(s) for s in shapes]
    simple = ["s" if int(np.prod(s)) == 1 else "f" if s == tuple(out_shape) else None
              for s in padded]
    if all(k is not None for k in simple):
        return "flat", (size, 1), simple
    for k in range(r - 1, 0, -1):
        m, n = int(np.prod(out_shape[:k])), int(np.prod(out_shape[k:]))
        kinds = []
        for s in padded:
            outer, inner = s[:k], s[k:]
            o_full, o_one = outer == tuple(out_shape[:k]), all(d == 1 for d in outer)
            i_full, i_one = inner == tuple(out_shape[k:]), all(d == 1 for d in inner)
            if o_one and i_one:
                kinds.append("s")
            elif o_full and i_full:
                kinds.append("f")
            elif o_one and i_full:
                kinds.append("r")
            elif o_full and i_one:
                kinds.append("c")
            else:
                break
        else:
            return "grid", (m, n), kinds
    return "flat", (size, 1), [k if k is not None else "b" for k in simple]


def generate_source(name, members, n_inputs, in_dtypes, kinds, mode, outputs):
    """The Python source of one fused kernel.

    Args:
        members: [(op type, attrs, out dtype, [arg refs])]: an arg ref is ("in", j) for
            external input j or ("op", i) for member i's output, in topological order.
        outputs: indices of the members whose values the kernel writes out (in order).
    """
    idx = "i" if mode == "flat" else "i, j"
    loads = []
    for j, kind in enumerate(kinds):
        at = {"f": idx, "r": "j", "c": "i", "s": "0"}[kind]
        loads.append("a%d = x%d[%s]" % (j, j, at))
    body = []
    for i, (kind, attrs, dt, args) in enumerate(members):
        refs = ["a%d" % a[1] if a[0] == "in" else "t%d" % a[1] for a in args]
        expr = RULES[kind][1](dt, attrs, *refs)
        body.append("t%d = %s(%s)" % (i, dt, expr))
    stores = ["o%d[%s] = t%d" % (k, idx, m) for k, m in enumerate(outputs)]
    params = ["x%d" % j for j in range(n_inputs)] + ["o%d" % k for k in range(len(outputs))]
    ind = " " * (8 if mode == "flat" else 12)
    lines = ["import numpy as np", "from numba import njit, prange",
             "from numpy import float32, float64, int32, int64", "",
             "",
             "@njit(parallel=True, fastmath=False, error_model='numpy', cache=True, nogil=True)",
             "def %s(M, K, %s):" % (name, ", ".join(params)),
             "    for i in prange(M):"]
    if mode == "grid":
        lines.append("        for j in range(K):")
    lines += [ind + s for s in loads + body + stores]
    return "\n".join(lines) + "\n"


_kernels = {}
_lock = threading.Lock()
#: Bumped when generated files change meaning (old cache files are then never read).
_FORMAT = 2


def compile_kernel(key, source_fn, prefix="fused"):
    """The compiled kernel for structural ``key`` (generating it with ``source_fn(name)``).

    The source is written once to the cache directory and imported as a module; numba's
    ``cache=True`` keeps the machine code beside it. Returns the numba dispatcher. ``prefix``
    starts the kernel's (and its file's) name: what generated it."""
    key = (prefix, key)
    fn = _kernels.get(key)
    if fn is not None:
        return fn
    with _lock:
        fn = _kernels.get(key)
        if fn is not None:
            return fn
        _passive_openmp()
        digest = hashlib.sha1(repr((_FORMAT,) + key[1:] if prefix == "fused" else
                                   (_FORMAT, key)).encode()).hexdigest()[:20]
        name = "%s_%s" % (prefix, digest)
        fn = getattr(import_cached("tfnb_" + name, source_fn(name)), name)
        _kernels[key] = fn
        return fn


def import_cached(mod_name, src):
    """Module ``mod_name`` with source ``src``, written into :func:`cache_dir` (atomically, when
    the file there differs) and imported from there under that name: numba's ``cache=True``
    keeps its machine code beside the file (never in the repository) and finds it by the
    module's name, so a later process loads instead of compiling."""
    mod = sys.modules.get(mod_name)
    if mod is not None and getattr(mod, "__tfnb_source__", None) == src:
        return mod
    folder = cache_dir()
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, mod_name + ".py")
    if _read(path) != src:
        tmp = "%s.%d.tmp" % (path, os.getpid())
        with open(tmp, "w") as f:
            f.write(src)
        os.replace(tmp, path)  # atomic: a concurrent process reads the old or new file
    spec = importlib.util.spec_from_file_location(mod_name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = mod
    spec.loader.exec_module(mod)
    mod.__tfnb_source__ = src
    return mod


_modules = {}   # kernels file name -> its module, or False (numba missing or loading failed)
_modules_lock = threading.Lock()


def kernel_module(filename):
    """The numba kernels file ``filename`` of tfnb/ops (``pool_kernels.py``,
    ``sparse_kernels.py``: plain numba code, never imported as part of the package), imported
    through :func:`import_cached` under a name holding its content's hash; None where numba is
    unavailable or the module failed to load (the callers' NumPy paths run then)."""
    mod = _modules.get(filename)
    if mod is None:
        with _modules_lock:
            mod = _modules.get(filename)
            if mod is None:
                mod = _modules[filename] = _load_kernel_file(filename) or False
    return mod or None


def _load_kernel_file(filename):
    if not available():
        return None
    try:
        with open(os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
                os.path.abspath(__file__)))), "ops", filename)) as f:
            src = f.read()
        _passive_openmp()
        stem = os.path.splitext(filename)[0]
        return import_cached("tfnb_%s_%s" % (stem, hashlib.sha1(src.encode()).hexdigest()[:16]),
                             src)
    except Exception:  # noqa: BLE001 - numba unusable here: the NumPy kernels
        return None


def _passive_openmp():
    """Lets numba's OpenMP threads sleep between parallel loops unless the user chose.

    GNU OpenMP's threads spin for a while after each loop by default; beside OpenBLAS's own
    spinning threads and other processes they then take cores the next GEMM needs (W4 step on
    2 cores, load ~3.6, fixed 2 threads: 126-128 ms CPU time per step with spinning,
    85-97 ms passive, 114-120 ms without fusion). Read when libgomp starts, i.e. at numba's
    first parallel loop: set here, before any is compiled."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None
