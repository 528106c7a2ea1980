"""Chrome trace (chrome://tracing, Perfetto) from a step's ``StepStats``.

Example:
    >>> opts = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)
    >>> md = tf.RunMetadata()
    >>> sess.run(train_op, feed, options=opts, run_metadata=md)
    >>> open("step.json", "w").write(Timeline(md.step_stats).generate_chrome_trace_format())
"""
import json

__all__ = ["Timeline"]


class Timeline:
    """Turns ``step_stats`` into the Chrome trace-event JSON format.

    Each device is a process (``pid``) named after it; each executing thread a lane
    (``tid``); each op a complete event ("X") with its type, name and output shapes.
    """

    def __init__(self, step_stats, graph=None):
        self._step_stats = step_stats
        self._graph = graph

    def _events(self, show_memory):
        events = []
        for pid, dev in enumerate(self._step_stats.dev_stats):
            events.append({"name": "process_name", "ph": "M", "pid": pid,
                           "args": {"name": dev.device}})
            events.append({"name": "process_sort_index", "ph": "M", "pid": pid,
                           "args": {"sort_index": pid}})
            tids = {}
            for ns in dev.node_stats:
                tid = tids.setdefault(ns.thread_id, len(tids))
                outs = [o.tensor_description for o in ns.output]
                args = {"name": ns.node_name, "op": ns.op_type}
                for i, td in enumerate(outs):
                    args["output%d" % i] = "%s %s (%d bytes)" % (td.dtype, list(td.shape),
                                                                 td.requested_bytes)
                events.append({"name": ns.op_type, "cat": "Op", "ph": "X", "pid": pid, "tid": tid,
                               "ts": ns.all_start_micros, "dur": max(ns.all_end_rel_micros, 0),
                               "args": args})
                if show_memory:
                    total = sum(td.requested_bytes for td in outs)
                    events.append({"name": "outputs", "ph": "C", "pid": pid,
                                   "ts": ns.all_start_micros, "args": {"bytes": total}})
            for thread, tid in tids.items():
                events.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": tid,
                               "args": {"name": "executor thread %d" % tid}})
        return events

    def generate_chrome_trace_format(self, show_dataflow=True, show_memory=False):
        """The trace as a JSON string: ``{"traceEvents": [...]}``."""
        return json.dumps({"traceEvents": self._events(show_memory), "displayTimeUnit": "ns"},
                          separators=(",", ":"))
