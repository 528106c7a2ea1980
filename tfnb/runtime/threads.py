"""Threads of the CPU kernels: ``ConfigProto.intra_op_parallelism_threads`` and the load.

Three pools do tfnb's intra-op work on the CPU: the BLAS library's (GEMMs, convolutions as
GEMMs), numba's (fused elementwise kernels, :mod:`tfnb.runtime.passes.fusion`) and
:func:`parallel_blocks`' (NumPy elementwise work split into row blocks; NumPy releases the
GIL inside its loops). :func:`configure` sizes all three, process-wide as TF's intra-op
pool is: ``intra_op_parallelism_threads=N`` caps them at N; 0 lets tfnb pick the cores this
process may run on (its CPU affinity, and ``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS``/
``MKL_NUM_THREADS`` where set).

Under load, fewer threads: OpenBLAS's worker threads busy-wait for work, and a GEMM split
in N equal parts waits for its slowest part, so when another process keeps a core busy an
N-thread GEMM runs at the pace of a thread that gets half a core -- slower than one thread
(measured: the matrix products of a W4 step take 86 ms on 2 threads and 154 ms on 1 when
quiet, but 256 ms on 2 threads and 155 ms on 1 beside one busy process). So :func:`on_step`
(called when a session runs a step, at most every :data:`CHECK_INTERVAL_S`) measures the
CPU time other processes used since the last check (``/proc/stat`` minus this process's
own) and uses only the cores they leave free, never more than the cap. Set
``TFNB_ADAPTIVE_THREADS=0`` to keep the cap fixed: a GEMM's last bits may depend on how
many threads split it, so runs are bit-for-bit repeatable only with a fixed count (W4 losses
after 40 steps differ by ~1e-6 between adaptive runs). Measured beside one busy process (W4
step, fusion on, 2 cores, load ~2.4): 63-71 ms median adapting, 96-117 ms on a fixed 2.
BLAS's pool is sized through threadpoolctl when it is installed (``tfnb[fast]``), else left
as the library set it.

OpenBLAS's idle worker threads also spin after each parallel call, by default for 2^28 cycles
(about 0.1 s): every numba or NumPy kernel that runs after a GEMM then shares the cores with
them. :func:`shorten_blas_spin` (called by the first :func:`configure`) makes them sleep after
2^:data:`BLAS_THREAD_TIMEOUT` cycles (about 0.1 ms) instead. Measured (W5's conv2 Winograd
kernel, numba on 2 threads, right after a small 2-thread GEMM; median of 21): 20-24 ms with
the default spin, 13-15 ms with 2^18 cycles, 10-12 ms with 2^4. Whole steps (bench/run.py,
tfnb alone, quiet, runs alternated): W5 118-128 ms at 2^28, 67-72 at 2^18, 68-88 at 2^16;
W3, whose 2-thread GEMMs come back to back, 3.38-3.68 at 2^28, 3.35-3.43 at 2^18, 3.56-3.87
at 2^16 (the threads' wake-up after a sleep). ``OPENBLAS_THREAD_TIMEOUT`` set by you wins.
"""
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

__all__ = ["configure", "intra_op_threads", "active_threads", "on_step", "parallel_blocks",
           "numba_threads", "system_threads", "on_one_blas_thread", "MIN_PARALLEL_ELEMENTS"]

#: How often (seconds) :func:`on_step` looks at the machine's load.
CHECK_INTERVAL_S = 0.5

#: Elements from which a fused group's NumPy ops (no numba) run as row blocks on
#: :func:`parallel_blocks`; None: never. Measured (bias + ReLU, float32, 2 blocks on 2 threads
#: vs the ops on one, min of 30, load average 3.3 on 2 cores): 1M elements 1074 vs 738 us,
#: 4M 6605 vs 4683 us, 16M 32.8 vs 30.1 ms -- the split never paid here, so it is off; set a
#: size where it pays on a machine with idle cores.
MIN_PARALLEL_ELEMENTS = None

_lock = threading.Lock()
_cap = None          # intra-op threads asked for (None: not configured; 0: tfnb picks)
_active = None       # threads in use now (<= the cap; fewer under load)
_blas = None         # threadpoolctl's BLAS controllers, or () when unavailable
_pool = None
_pool_size = 0
_last_check = None   # (monotonic time, system busy jiffies, own cpu seconds)
_single = 0          # calls running on one BLAS thread now (:func:`on_one_blas_thread`)
_spin_set = False    # :func:`shorten_blas_spin` ran

#: log2 of the cycles OpenBLAS's idle threads spin before they sleep (OpenBLAS's range 4-30;
#: its default 28): 2^18 cycles, ~0.1 ms here. Measurements: the module docstring.
BLAS_THREAD_TIMEOUT = 18


def system_threads():
    """The cores this process may use, within the thread limits set in its environment."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        v = os.environ.get(var, "")
        if v.isdigit() and int(v) > 0:
            n = min(n, int(v))
    return max(1, n)


def _check(name, value, allow_negative):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("ConfigProto.%s must be an int, got %r" % (name, value))
    if value < 0 and not allow_negative:
        raise ValueError("ConfigProto.%s must be >= 0 (0: the system picks), got %d"
                         % (name, value))
    if value > 4096:
        raise ValueError("ConfigProto.%s=%d is more threads than any machine has cores; use 0 "
                         "to let the system pick" % (name, value))
    return value


def validate(intra_op, inter_op):
    """Checks the two ConfigProto thread fields; returns them.

    Raises:
        TypeError: a field is not an int.
        ValueError: ``intra_op`` is negative, or either is absurdly large. (A negative
            ``inter_op`` is TF's "run ops in the caller's thread".)
    """
    return (_check("intra_op_parallelism_threads", intra_op, False),
            _check("inter_op_parallelism_threads", inter_op, True))


def shorten_blas_spin():
    """Makes OpenBLAS's idle threads sleep after 2^:data:`BLAS_THREAD_TIMEOUT` cycles.

    OpenBLAS reads ``OPENBLAS_THREAD_TIMEOUT`` when it loads; for the libraries loaded already
    this sets the variable, has each read its environment again and stops its thread pool
    (the next parallel call starts a new one, with the new timeout); libraries loaded later
    read the variable themselves. Once per process, from the first session made in the main
    thread, before tfnb runs anything (OpenBLAS must not be inside a parallel call while its
    pool stops; sessions made in other threads, as in Dask workers, leave it alone); left
    alone too where the user set ``OPENBLAS_THREAD_TIMEOUT`` or ``GOTO_THREAD_TIMEOUT``."""
    global _spin_set
    if _spin_set:
        return
    _spin_set = True
    if "OPENBLAS_THREAD_TIMEOUT" in os.environ or "GOTO_THREAD_TIMEOUT" in os.environ:
        return
    if threading.current_thread() is not threading.main_thread():
        # A session made in another thread (a Dask worker's task thread): other threads of
        # this process may be inside OpenBLAS now, so its pool is left as it is.
        return
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = str(BLAS_THREAD_TIMEOUT)
    try:
        import ctypes
        from threadpoolctl import ThreadpoolController
        libs = ThreadpoolController().select(internal_api="openblas").lib_controllers
    except Exception:  # noqa: BLE001 - threadpoolctl missing: only later libraries see it
        return
    for lib in libs:
        try:
            dl = ctypes.CDLL(lib.filepath)
            read_env, shutdown = dl.openblas_read_env, dl.blas_thread_shutdown_
        except (OSError, AttributeError):  # an OpenBLAS without these entry points
            continue
        read_env()
        shutdown()


def configure(intra_op=0, inter_op=0):
    """Sizes the CPU thread pools for ``intra_op`` threads (0: the system picks).

    Process-wide, as TF's pools: the latest session created with a setting wins."""
    intra_op, inter_op = validate(intra_op, inter_op)
    shorten_blas_spin()
    global _cap, _last_check, _active, _blas
    with _lock:
        _cap = intra_op
        _last_check = None
        _active = None  # apply again: libraries loaded since then (scipy's BLAS) get it too
        _blas = None
    _apply(intra_op_threads())


def intra_op_threads():
    """The cap: ``intra_op_parallelism_threads`` if set, else :func:`system_threads`."""
    return _cap if _cap else system_threads()


def active_threads():
    """Threads the CPU kernels use now (the cap, or fewer while other processes load the
    machine)."""
    return _active if _active is not None else intra_op_threads()


def _blas_controllers():
    global _blas
    if _blas is None:
        try:
            from threadpoolctl import ThreadpoolController
            _blas = tuple(ThreadpoolController().select(user_api="blas").lib_controllers)
        except Exception:  # noqa: BLE001 - threadpoolctl missing or a library it cannot drive
            _blas = ()
    return _blas


def _set_blas(n):
    for lib in _blas_controllers():
        try:
            lib.set_num_threads(n)
        except Exception:  # noqa: BLE001 - a library that refuses keeps its own count
            pass


def _apply(n):
    global _active
    if n == _active:
        return
    with _lock:
        _active = n
        if not _single:  # else the last single-thread call restores the new count
            _set_blas(n)
    numba_threads()


def on_one_blas_thread(fn, *args):
    """``fn(*args)`` with the BLAS pool at one thread, the count in use restored after.

    For small products (:data:`tfnb.ops.matmul_ops.SINGLE_THREAD_MACS`): waking and joining
    BLAS threads costs more than they save there, and a thread that another process keeps
    off its core stalls the whole call (OpenBLAS splits a GEMM in equal parts, and its idle
    threads spin). The BLAS count is process-wide, so concurrent calls (other devices'
    executor threads) share the single-thread stretch; they compute the same values, only
    on fewer threads. Cheap when BLAS already runs one thread (no lock, no library call)."""
    global _single
    if active_threads() <= 1 or not _blas_controllers():
        return fn(*args)
    with _lock:
        _single += 1
        if _single == 1:
            _set_blas(1)
    try:
        return fn(*args)
    finally:
        with _lock:
            _single -= 1
            if not _single:
                _set_blas(active_threads())


def blas_libraries_changed():
    """Call after loading a BLAS library (SciPy's): the thread settings reach it too."""
    global _blas
    with _lock:
        if not _single:
            _blas = None
            if _active is not None:
                _set_blas(_active)


def numba_threads(n=None):
    """Makes numba's parallel loops in this thread use ``n`` (default
    :func:`active_threads`) threads."""
    import sys
    numba = sys.modules.get("numba")
    if numba is None:
        return
    n = max(1, min(n or active_threads(), numba.config.NUMBA_NUM_THREADS))
    if numba.get_num_threads() != n:
        numba.set_num_threads(n)


def _busy_jiffies():
    """(busy, total) jiffies of all CPUs, from /proc/stat (None where there is none)."""
    try:
        with open("/proc/stat", "rb") as f:
            fields = f.readline().split()[1:]
    except OSError:
        return None
    vals = [int(v) for v in fields[:8]]
    idle = vals[3] + vals[4]  # idle + iowait
    return sum(vals) - idle


def on_step():
    """Adapts the threads in use to the load, at most every :data:`CHECK_INTERVAL_S`.

    Cheap when called often (one clock read); a check reads /proc/stat."""
    global _last_check
    now = time.monotonic()
    last = _last_check
    if last is not None and now - last[0] < CHECK_INTERVAL_S:
        return
    if os.environ.get("TFNB_ADAPTIVE_THREADS", "1") == "0":
        _apply(intra_op_threads())
        return
    busy = _busy_jiffies()
    if busy is None:
        return
    own = time.process_time()
    _last_check = (now, busy, own)
    if last is None:
        return
    hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    elapsed = now - last[0]
    others = max(0.0, (busy - last[1]) / hz - (own - last[2])) / elapsed  # cores they used
    cap = intra_op_threads()
    free = system_threads() - others
    _apply(max(1, min(cap, int(free + 0.5))))


def parallel_blocks(fn, n, min_rows=1):
    """Calls ``fn(a, b)`` over row blocks covering ``range(n)``, on :func:`active_threads`
    threads (in this thread when there is one); the blocks must write disjoint memory."""
    global _pool, _pool_size
    k = min(active_threads(), max(1, n // max(1, min_rows)))
    if k < 2:
        fn(0, n)
        return
    with _lock:
        if _pool is None or _pool_size < k:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool, _pool_size = ThreadPoolExecutor(k, thread_name_prefix="tfnb-intra-op"), k
        pool = _pool
    step = -(-n // k)
    futures = [pool.submit(fn, a, min(n, a + step)) for a in range(step, n, step)]
    fn(0, min(n, step))  # this thread does the first block
    for f in futures:
        f.result()


def _forget_pool():
    """A forked child has none of the parent's threads."""
    global _pool, _pool_size, _lock, _single
    _pool, _pool_size, _lock, _single = None, 0, threading.Lock(), 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def configure_for(config):
    """Applies a session's ConfigProto: its ``intra_op_parallelism_threads`` when set, else
    tfnb's pick if nothing was configured before (a later default session keeps the pools)."""
    intra = getattr(config, "intra_op_parallelism_threads", 0) or 0
    inter = getattr(config, "inter_op_parallelism_threads", 0) or 0
    if intra or _cap is None:
        configure(intra, inter)
