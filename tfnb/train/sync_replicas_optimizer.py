"""``tf.train.SyncReplicasOptimizer``: synchronous data parallelism, with backup replicas.

Every replica computes gradients on its own batch; instead of applying them it pushes them
into one :class:`~tfnb.ops.accumulator_ops.ConditionalAccumulator` per variable (placed with
the variable, shared by name). The chief runs a queue runner whose op waits until
``replicas_to_aggregate`` gradients are in every accumulator, applies their *average* with
the wrapped optimizer, increments the global step and puts ``tokens_per_step`` copies of the
new global step into the token queue. A replica's train op ends by taking a token -- a
barrier -- and recording its value as the replica's *local step*; a gradient computed with a
local step older than the accumulator's step is dropped as stale.

With ``total_num_replicas > replicas_to_aggregate`` the extra replicas are backups: each
step takes the first ``replicas_to_aggregate`` gradients, a slow replica's late gradient is
dropped, and nobody waits for it. With fewer replicas than ``replicas_to_aggregate`` some
replicas compute several batches per step (``get_init_tokens_op`` must then supply at least
the difference).

Because the gradients are averaged, N replicas of batch B train as one replica of batch N*B:
for a deterministic model the parameters after K steps equal those of K plain steps on the
concatenated batches (tests/train/test_sync_replicas.py checks it).

Bad setups, and what happens:

* fewer replicas than ``replicas_to_aggregate`` (and too few tokens): the chief's take and
  the replicas' token dequeues wait -- until ``ConfigProto(operation_timeout_in_ms=...)`` ends
  them with ``DeadlineExceededError``, or the session closes (``CancelledError``); set an
  operation timeout to turn a missing replica into an error;
* replicas built with different ``replicas_to_aggregate``/``total_num_replicas``: the local
  init of the second one fails with ``InvalidArgumentError`` naming both settings (the check
  runs where the global step lives, so replicas on different tasks see each other);
* ``get_init_tokens_op(n)`` with ``n`` too small to finish the first step: ``ValueError``.

Example:
    >>> opt = tf.train.SyncReplicasOptimizer(tf.train.GradientDescentOptimizer(0.1),
    ...                                      replicas_to_aggregate=2, total_num_replicas=3)
    >>> train_op = opt.minimize(loss, global_step=tf.train.get_or_create_global_step())
    >>> hook = opt.make_session_run_hook(is_chief=(task_index == 0))
    >>> with tf.train.MonitoredTrainingSession(master=target, is_chief=(task_index == 0),
    ...                                        hooks=[hook]) as sess:
    ...     while not sess.should_stop():
    ...         sess.run(train_op)
"""
import contextlib
import logging

from ..framework import dtypes, errors
from ..framework.graph import GraphKeys, IndexedSlices, Tensor, colocate_with, device, name_scope
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..ops import core
from ..ops.accumulator_ops import ConditionalAccumulator, SparseConditionalAccumulator
from ..ops.array_ops import fill
from ..ops.control_flow_ops import group, no_op
from ..ops.data_flow_ops import FIFOQueue
from ..ops.variables import Variable, global_variables, report_uninitialized_variables
from . import session_manager
from .optimizer import Optimizer
from .queue_runner import QueueRunner
from .session_run_hook import SessionRunHook

__all__ = ["SyncReplicasOptimizer"]

_log = logging.getLogger("tfnb.train")

_TOKEN_QUEUE = "sync_token_q"


# ----------------------------------------------------------------------------------------------
# The replicas' agreement on the setup, checked where the global step lives
# ----------------------------------------------------------------------------------------------
def _check_config_kernel(op, ctx):
    a = op._attrs
    mine = (a["replicas_to_aggregate"], a["total_num_replicas"])
    record = ctx.state.resource(("sync_replicas_config", a["token_queue"]),
                                lambda: (mine, op.name))

    def sync_replicas_check_config():
        agreed, by = record
        if agreed != mine:
            raise errors.InvalidArgumentError(
                None, None, "SyncReplicasOptimizer replicas disagree: this one has "
                "replicas_to_aggregate=%d, total_num_replicas=%d, but the replicas sharing the "
                "token queue '%s' were set up with replicas_to_aggregate=%d, total_num_replicas=%d "
                "(by %s)" % (mine + (a["token_queue"],) + agreed + (by,)))
    return sync_replicas_check_config


register_op("SyncReplicasCheckConfig", infer=lambda op: [], kernel=_check_config_kernel,
            grad=NOT_DIFFERENTIABLE, stateful=True, side_effects=True, device_types=("CPU",),
            doc="Fails if replicas sharing a token queue disagree on their aggregation (tfnb).")


def _device_of(obj):
    """``with`` the device of ``obj`` (nothing if it has none)."""
    dev = getattr(obj, "device", "") or ""
    return device(dev) if dev else contextlib.nullcontext()


class SyncReplicasOptimizer(Optimizer):
    """Aggregates the gradients of replicas, then applies their average with ``opt``.

    Args:
        opt: the optimizer that applies the averaged gradients.
        replicas_to_aggregate: gradients averaged into each update.
        total_num_replicas: replicas running (default ``replicas_to_aggregate``); more means
            backup replicas, fewer means replicas compute several batches per update.
        variable_averages: an ``ExponentialMovingAverage`` updated after each update.
        variables_to_average: the variables it averages.
        use_locking: passed to the base Optimizer.
        name: name of the optimizer (its ops' scope).

    Raises:
        TypeError: ``opt`` is not an Optimizer.
        ValueError: a replica count that is not a positive integer.
    """

    def __init__(self, opt, replicas_to_aggregate, total_num_replicas=None,
                 variable_averages=None, variables_to_average=None, use_locking=False,
                 name="sync_replicas"):
        if total_num_replicas is None:
            total_num_replicas = replicas_to_aggregate
        if not isinstance(opt, Optimizer):
            raise TypeError("SyncReplicasOptimizer wraps an Optimizer, got %r" % (opt,))
        for what, n in (("replicas_to_aggregate", replicas_to_aggregate),
                        ("total_num_replicas", total_num_replicas)):
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise ValueError("%s must be a positive integer, got %r" % (what, n))
        super().__init__(use_locking, name)
        _log.info("SyncReplicasV2: replicas_to_aggregate=%s; total_num_replicas=%s",
                  replicas_to_aggregate, total_num_replicas)
        self._opt = opt
        self._replicas_to_aggregate = replicas_to_aggregate
        self._total_num_replicas = total_num_replicas
        self._tokens_per_step = max(total_num_replicas, replicas_to_aggregate)
        self._variable_averages = variable_averages
        self._variables_to_average = variables_to_average
        self._gradients_applied = False
        self._global_step = None
        self._sync_token_queue = None
        self._chief_queue_runner = None
        self._accumulator_list = []  # (accumulator, device)

    def compute_gradients(self, *args, **kwargs):
        """The wrapped optimizer's gradients (clip them per replica here if needed)."""
        return self._opt.compute_gradients(*args, **kwargs)

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        """Pushes the gradients into the accumulators; builds the chief's update.

        Args:
            grads_and_vars: (gradient, variable) pairs from :meth:`compute_gradients`.
            global_step: the global step Variable (required: it decides staleness).
            name: unused (TF1 compatibility).

        Returns:
            The replica's train op: apply the gradients, then wait for a token and record it
            as the local step.

        Raises:
            ValueError: no pairs, or no ``global_step``.
        """
        grads_and_vars = list(grads_and_vars)
        if not grads_and_vars:
            raise ValueError("Must supply at least one variable")
        if global_step is None:
            raise ValueError("Global step is required to check staleness")
        self._global_step = global_step
        graph = grads_and_vars[0][1].graph
        train_ops, aggregated, var_list = [], [], []
        with graph.as_default():
            # The local step stays with the replica (colocated with an op of its own task).
            local_anchor = no_op()
            with colocate_with(local_anchor):
                self._local_step = Variable(0, trainable=False,
                                            collections=[GraphKeys.LOCAL_VARIABLES],
                                            dtype=global_step.dtype, name="sync_rep_local_step")
            with _device_of(global_step), name_scope(""):
                check = core.op("SyncReplicasCheckConfig", [], {
                    "replicas_to_aggregate": self._replicas_to_aggregate,
                    "total_num_replicas": self._total_num_replicas,
                    "token_queue": _TOKEN_QUEUE}, name="sync_replicas_check_config")
            with graph.control_dependencies([check]):
                self.local_step_init_op = self._local_step.assign(global_step)
            chief_init_ops = [self.local_step_init_op]
            self.ready_for_local_init_op = report_uninitialized_variables(global_variables())

            with name_scope(None, self._name):
                for grad, var in grads_and_vars:
                    var_list.append(var)
                    with _device_of(var):
                        if grad is None:
                            aggregated.append(None)  # passed through
                            continue
                        if isinstance(grad, Tensor):
                            accum = ConditionalAccumulator(grad.dtype, shape=var.get_shape(),
                                                           shared_name=var.name + "/grad_accum")
                            train_ops.append(accum.apply_grad(grad, local_step=self._local_step))
                            aggregated.append(accum.take_grad(self._replicas_to_aggregate))
                        elif isinstance(grad, IndexedSlices):
                            accum = SparseConditionalAccumulator(
                                grad.dtype, shape=(), shared_name=var.name + "/grad_accum")
                            train_ops.append(accum.apply_indexed_slices_grad(
                                grad, local_step=self._local_step))
                            aggregated.append(accum.take_indexed_slices_grad(
                                self._replicas_to_aggregate))
                        else:
                            raise ValueError("Unknown grad type!")
                        self._accumulator_list.append((accum, var.device))

                # The update runs where the global step lives.
                with _device_of(global_step), name_scope(""):
                    update_op = self._opt.apply_gradients(list(zip(aggregated, var_list)),
                                                          global_step)
                with _device_of(global_step), name_scope(""):
                    token_queue = FIFOQueue(-1, global_step.dtype, shapes=(),
                                            name=_TOKEN_QUEUE, shared_name=_TOKEN_QUEUE)
                    self._sync_token_queue = token_queue
                    # The chief's queue runner needs a queue; not the token queue, which must
                    # stay open when the runner stops.
                    dummy_queue = FIFOQueue(1, dtypes.int32, shapes=(), name="dummy_queue",
                                            shared_name="dummy_queue")
                with _device_of(global_step), name_scope(""):
                    with graph.control_dependencies(train_ops):
                        token = token_queue.dequeue()
                    train_op = self._local_step.assign(token)
                    with graph.control_dependencies([update_op]):
                        tokens = fill([self._tokens_per_step], global_step)
                        sync_op = token_queue.enqueue_many((tokens,))
                    if self._variable_averages is not None:
                        with graph.control_dependencies([sync_op]), name_scope(""):
                            sync_op = self._variable_averages.apply(self._variables_to_average)
                    # On a stop request the runner also fails the takes it waits in, so the
                    # chief stops at once instead of after the grace period.
                    cancel_op = group(dummy_queue.close(cancel_pending_enqueues=True),
                                      *[a.cancel_pending_takes() for a, _ in
                                        self._accumulator_list])
                    self._chief_queue_runner = QueueRunner(dummy_queue, [sync_op],
                                                           cancel_op=cancel_op)
                for accum, dev in self._accumulator_list:
                    with (device(dev) if dev else contextlib.nullcontext()):
                        chief_init_ops.append(accum.set_global_step(global_step,
                                                                    name="SetGlobalStep"))
                self.chief_init_op = group(*chief_init_ops)
        self._gradients_applied = True
        return train_op

    def get_chief_queue_runner(self):
        """The QueueRunner the chief runs: aggregate, apply, increment, hand out tokens.

        Raises:
            ValueError: called before :meth:`apply_gradients`.
        """
        if not self._gradients_applied:
            raise ValueError("Should be called after apply_gradients().")
        return self._chief_queue_runner

    def get_slot(self, *args, **kwargs):
        return self._opt.get_slot(*args, **kwargs)

    def variables(self):
        """The wrapped optimizer's variables (not the local step)."""
        return self._opt.variables()

    def get_slot_names(self, *args, **kwargs):
        return self._opt.get_slot_names(*args, **kwargs)

    def get_init_tokens_op(self, num_tokens=-1):
        """An op putting ``num_tokens`` tokens (default ``replicas_to_aggregate``) in the queue.

        The chief runs it once so the replicas can finish their first step before the first
        update. With ``num_tokens=0`` every replica waits for the first update (lock-step).

        Raises:
            ValueError: called before :meth:`apply_gradients`, or fewer tokens than
                ``replicas_to_aggregate - total_num_replicas``.
        """
        if not self._gradients_applied:
            raise ValueError("get_init_tokens_op() should be called after apply_gradients().")
        needed = self._replicas_to_aggregate - self._total_num_replicas
        if num_tokens == -1:
            num_tokens = self._replicas_to_aggregate
        elif num_tokens < needed:
            raise ValueError("Too few tokens to finish the first step: %d (given) vs %d (needed)"
                             % (num_tokens, needed))
        graph = self._global_step.graph
        with graph.as_default():
            if num_tokens > 0:
                with _device_of(self._global_step), name_scope(""):
                    tokens = fill([num_tokens], self._global_step)
                    return self._sync_token_queue.enqueue_many((tokens,))
            return no_op(name="no_init_tokens")

    def make_session_run_hook(self, is_chief, num_tokens=-1):
        """A hook that runs the local init (and, on the chief, the tokens and queue runner)."""
        return _SyncReplicasOptimizerHook(self, is_chief, num_tokens)


class _SyncReplicasOptimizerHook(SessionRunHook):
    """Initializes a replica of a SyncReplicasOptimizer when its session is created."""

    def __init__(self, sync_optimizer, is_chief, num_tokens):
        self._sync_optimizer = sync_optimizer
        self._is_chief = is_chief
        self._num_tokens = num_tokens

    def begin(self):
        opt = self._sync_optimizer
        if not opt._gradients_applied:
            raise ValueError("SyncReplicasOptimizer.apply_gradient should be called before using "
                             "the hook.")
        self._ready_for_local_init_op = opt.ready_for_local_init_op
        if self._is_chief:
            self._local_init_op = opt.chief_init_op
            self._q_runner = opt.get_chief_queue_runner()
            self._init_tokens_op = opt.get_init_tokens_op(self._num_tokens)
        else:
            self._local_init_op = opt.local_step_init_op
            self._q_runner = None
            self._init_tokens_op = None

    def after_create_session(self, session, coord):
        ok, msg = session_manager._ready(self._ready_for_local_init_op, session,
                                         "Model is not ready for SyncReplicasOptimizer local init.")
        if not ok:
            raise RuntimeError("Init operations did not make model ready for SyncReplicasOptimizer "
                               "local_init. Init op: %s, error: %s"
                               % (self._local_init_op.name, msg))
        session.run(self._local_init_op)
        if self._init_tokens_op is not None:
            session.run(self._init_tokens_op)
        if self._q_runner is not None:
            self._q_runner.create_threads(session, coord=coord, daemon=True, start=True)
