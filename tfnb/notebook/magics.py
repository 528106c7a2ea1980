"""The IPython extension: ``%load_ext tfnb``.

Loading it (``%load_ext tfnb``, or ``c.InteractiveShellApp.extensions = ["tfnb"]``):

* turns eager evaluation on: the default graph (and every later default graph) gets an
  ``InteractiveSession`` that computes each new tensor as soon as it can, so cells show values;
* rich reprs need no set-up: tensors, ops, graphs, sessions and variables display as values,
  drawings and tables through their ``_repr_mimebundle_`` (:mod:`tfnb.notebook.reprs`);
* registers these magics:

``%tf_graph [--color type|device|time] [--session SESS] [--expand SCOPE,...] [--static] [EXPR]``
    Draws the default graph (or ``EXPR``: a Graph, Tensor, Operation or anything with a
    ``.graph``): the interactive :class:`~tfnb.notebook.graph_explorer.GraphExplorer` in a
    Jupyter kernel (``--static`` or elsewhere: :func:`~tfnb.notebook.graph_draw.draw_graph`).
    ``--color`` colours nodes by op type (default), by device, or by the time each op took in
    the last ``%%tf_trace`` run; ``--session SESS`` draws SESS's graph coloured by the devices
    its last run *assigned* (the default colouring then), with its cross-device transfers;
    ``--expand`` opens the given name scopes (default: all of them when the graph is small).

``%tf_placement [--session SESS] [--feed EXPR] [--static] [FETCHES]``
    The :class:`~tfnb.notebook.placement_view.PlacementView` of ``FETCHES`` (an expression:
    a tensor, an op, a list...; default: the last run's plan): the graph coloured by assigned
    device, the placer's reasons, cross-device transfers with bytes and Send/Recv, per-device
    totals and the op table. SESS defaults to the session of the last ``%%tf_trace`` run,
    else the default session; the fed tensors (``--feed``: a dict or list) default to the
    placeholders FETCHES need; the last ``%%tf_trace`` run of SESS gives measured times.

``%%tf_trace [-o NAME] [--quiet] [--profile [--skip-first N]]``
    Runs the cell with every ``Session.run`` traced (``RunOptions(trace_level=FULL_TRACE)``),
    then shows the :class:`~tfnb.notebook.step_timeline.StepTimeline` of the last traced run;
    ``--profile`` also shows the :class:`~tfnb.profiler.OpProfile` of all of them (time by
    op type, op and device; ``--skip-first N`` leaves out warm-up runs). ``-o NAME`` also
    stores that timeline (the profile, with ``--profile``) in the variable ``NAME``;
    ``--quiet`` shows nothing.
    Runs made through ``make_callable`` are not traced; values that eager mode computes as ops
    are created involve no ``Session.run`` and show no timeline.

``%tf_summaries [--watch [SECONDS]] LOGDIR``
    The :class:`~tfnb.notebook.summaries.SummaryViewer` of the event files under LOGDIR (each
    folder holding one is a run): scalars with smoothing, distributions and histograms, images
    and audio with a step slider, text. ``--watch`` follows the files while they grow.

``%tf_reset``
    ``tf.reset_default_graph()``, closing the old graph's interactive session first (a fresh
    one comes with the new graph while eager mode is on).

``%unload_ext tfnb`` removes the magics and restores the eager setting that was in force.
"""
import ast
import contextlib

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display

from .. import profiler as _profiler
from ..framework import graph as _graph
from ..runtime import eager as _eager
from ..runtime import session as _session
from .graph_draw import draw_graph
from .step_timeline import StepTimeline, _widgets_live

__all__ = ["TfnbMagics", "load_ipython_extension", "unload_ipython_extension", "trace_runs"]

_MISSING = object()
_saved_eager_mode = _MISSING
last_trace = None  # the StepTimeline of the last %%tf_trace (``%tf_graph --color time`` uses it)


class TraceRecorder:
    """What :func:`trace_runs` saw: every traced run of the block, the last one at hand."""

    def __init__(self, runs):
        self.runs = runs  # tfnb.profiler.trace()'s record: run_metadata_list, sessions

    @property
    def count(self):
        return len(self.runs.run_metadata_list)

    @property
    def session(self):
        return self.runs.sessions[-1] if self.runs.sessions else None

    @property
    def run_metadata(self):
        return self.runs.run_metadata_list[-1] if self.runs.run_metadata_list else None

    def timeline(self, title=None):
        """The :class:`StepTimeline` of the last traced run (None if nothing ran)."""
        if self.run_metadata is None:
            return None
        tl = StepTimeline(self.run_metadata, graph=self.session.graph, title=title)
        tl.session = self.session
        return tl

    def profile(self, skip_first=0):
        """The :class:`tfnb.profiler.OpProfile` of every traced run (None if nothing ran)."""
        if not self.count:
            return None
        return _profiler.OpProfile(self.runs, skip_first=min(skip_first, self.count - 1))


@contextlib.contextmanager
def trace_runs():
    """Traces every ``Session.run`` made inside the block; yields a :class:`TraceRecorder`.

    ``BaseSession.run`` is wrapped for the block's duration (so sessions created inside it
    are traced too) and restored afterwards, also on errors (see :func:`tfnb.profiler.trace`).
    Runs that already pass ``options``/``run_metadata`` keep them, at least at ``FULL_TRACE``.
    """
    with _profiler.trace() as runs:
        yield TraceRecorder(runs)


class _Static:
    """Shows a view's static HTML (and text) even in a kernel where widgets load."""

    def __init__(self, view):
        self.view = view

    def __repr__(self):
        return repr(self.view)

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/plain": self.view.text(), "text/html": self.view.to_html()}


def _graph_of(obj):
    if isinstance(obj, _graph.Graph):
        return obj
    g = getattr(obj, "graph", None)
    if isinstance(g, _graph.Graph):
        return g
    raise TypeError("%%tf_graph needs a Graph or something with a .graph (a Tensor, Operation, "
                    "Session), got %s" % type(obj).__name__)


@magics_class
class TfnbMagics(Magics):
    """``%tf_graph``, ``%tf_placement``, ``%%tf_trace`` and ``%tf_reset`` (see the module)."""

    @magic_arguments()
    @argument("--color", "-c", choices=("type", "device", "time"), default=None,
              help="colour nodes by op type, device, or time in the last %%%%tf_trace run "
                   "(default: type; device with --session)")
    @argument("--session", default=None,
              help="a session: colour by the devices its last run assigned")
    @argument("--expand", "-e", default=None,
              help="comma-separated name scopes to draw open (default: all, if the graph is small)")
    @argument("--static", "-s", action="store_true",
              help="a static drawing even where the interactive GraphExplorer could load")
    @argument("expr", nargs="*",
              help="a Graph/Tensor/Operation/Session (default: the default graph)")
    @line_magic
    def tf_graph(self, line):
        """Draws the default graph, or the graph of EXPR."""
        args = parse_argstring(self.tf_graph, line)
        sess = self._session_arg(args.session) if args.session else None
        if args.expr:
            graph = _graph_of(self.shell.ev(" ".join(args.expr)))
        elif sess is not None:
            graph = sess.graph
        else:
            graph = _graph.get_default_graph()
        if args.color is None:
            args.color = "device" if sess is not None else "type"
        step_stats = None
        if sess is not None and last_trace is not None and \
                getattr(last_trace, "session", None) is sess:
            step_stats = last_trace.step_stats
        if args.color == "time":
            if last_trace is None:
                raise UsageError("--color time needs a traced run: run a cell under %%tf_trace "
                                 "first")
            step_stats = last_trace.step_stats
        expanded = None
        if args.expand is not None:
            expanded = [s.strip().strip("/") for s in args.expand.split(",") if s.strip()]
        if not args.static and _widgets_live():
            from .graph_explorer import GraphExplorer
            return GraphExplorer(graph, color_by=args.color, run_metadata=step_stats,
                                 expanded=expanded, session=sess)
        return draw_graph(graph, color_by=args.color, expanded=expanded, run_metadata=step_stats,
                          session=sess)

    def _session_arg(self, expr):
        sess = self.shell.ev(expr)
        if not hasattr(sess, "placement") or not hasattr(sess, "graph"):
            raise UsageError("--session needs a tf.Session, got %s" % type(sess).__name__)
        return sess

    @magic_arguments()
    @argument("--session", default=None,
              help="the session (default: the last %%%%tf_trace run's, else the default one)")
    @argument("--feed", default=None,
              help="the fed tensors: a dict or list (default: the placeholders FETCHES need)")
    @argument("--static", "-s", action="store_true",
              help="a static drawing even where the widget could load")
    @argument("fetches", nargs="*", help="what the step fetches (default: the last run's)")
    @line_magic
    def tf_placement(self, line):
        """Shows where the ops of FETCHES run, why, and what crosses devices."""
        from .placement_view import PlacementView
        args = parse_argstring(self.tf_placement, line)
        if args.session:
            sess = self._session_arg(args.session)
        elif last_trace is not None and getattr(last_trace, "session", None) is not None and \
                not getattr(last_trace.session, "_closed", False):
            sess = last_trace.session
        else:
            sess = _session.get_default_session()
        if sess is None:
            raise UsageError("%tf_placement needs a session: pass --session SESS (or make one "
                             "the default: with sess.as_default(): ...)")
        fetches = self.shell.ev(" ".join(args.fetches)) if args.fetches else None
        feed = self.shell.ev(args.feed) if args.feed else None
        try:
            view = PlacementView(sess, fetches, feed)
        except ValueError as e:
            raise UsageError("%%tf_placement: %s" % e) from None
        if args.static or not _widgets_live():
            return _Static(view)
        return view

    @magic_arguments()
    @argument("-o", "--output", default=None,
              help="store the StepTimeline (with --profile: the OpProfile) in this variable")
    @argument("--quiet", "-q", action="store_true", help="trace but show nothing")
    @argument("--profile", "-p", action="store_true",
              help="also show the op profile of all traced runs of the cell")
    @argument("--skip-first", type=int, default=0,
              help="with --profile: leave out this many first runs (warm-up)")
    @cell_magic
    def tf_trace(self, line, cell):
        """Runs the cell with every Session.run traced and shows the last run's timeline."""
        global last_trace
        args = parse_argstring(self.tf_trace, line)
        with trace_runs() as rec:
            value = self._run_body(cell)
        if rec.count == 0:
            if not args.quiet:
                print("%%tf_trace: no Session.run in this cell (values that eager mode computes "
                      "as ops are created are not runs; call sess.run(...) or .eval()).")
            return value
        tl = rec.timeline(title="the last of %d traced Session.run call%s in this cell"
                          % (rec.count, "" if rec.count == 1 else "s"))
        last_trace = tl
        prof = rec.profile(args.skip_first) if args.profile else None
        if args.output:
            self.shell.user_ns[args.output] = prof if prof is not None else tl
        if not args.quiet:
            display(tl)
            if prof is not None:
                display(prof)
        return value

    def _run_body(self, cell):
        """Runs ``cell`` in the user namespace; returns the value of a final expression.

        Errors propagate, so the cell fails as it would without the magic.
        """
        shell = self.shell
        source = shell.transform_cell(cell)
        tree = shell.transform_ast(shell.compile.ast_parse(source))
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        filename = shell.compile.cache(source)
        exec(shell.compile(tree, filename, "exec"), shell.user_ns)  # noqa: S102 - the user's cell
        if last is not None:
            return eval(shell.compile(last, filename, "eval"), shell.user_ns)  # noqa: S307
        return None

    @magic_arguments()
    @argument("--watch", "-w", nargs="?", type=float, const=2.0, default=None,
              help="re-read the event files every SECONDS (default 2) while they grow")
    @argument("logdir", nargs="+", help="the folder of event files (its subfolders are runs)")
    @line_magic
    def tf_summaries(self, line):
        """Shows the summaries written under LOGDIR."""
        from .summaries import SummaryViewer
        args = parse_argstring(self.tf_summaries, line)
        logdir = " ".join(args.logdir).strip("'\"")
        try:
            viewer = SummaryViewer(logdir)
        except FileNotFoundError as e:
            raise UsageError("%%tf_summaries: %s" % e) from None
        if args.watch:
            viewer.watch(args.watch)
        return viewer

    @line_magic
    def tf_reset(self, line):
        """tf.reset_default_graph(), closing the old graph's interactive session."""
        if line.strip():
            raise UsageError("%%tf_reset takes no arguments, got %r" % line.strip())
        old = _graph.get_default_graph()
        ev = old._eager_evaluator
        if ev is not None:
            ev.session.close()
        _graph.reset_default_graph()
        _graph.get_default_graph()  # a new default graph, with its eager session if eager is on


def load_ipython_extension(ipython):
    """``%load_ext tfnb``: eager interactive session, rich reprs and the tfnb magics."""
    global _saved_eager_mode
    if _saved_eager_mode is _MISSING:
        _saved_eager_mode = _eager._eager_mode
    _eager.enable_eager_execution()
    ipython.register_magics(TfnbMagics)


def unload_ipython_extension(ipython):
    """``%unload_ext tfnb``: removes the magics and restores the previous eager setting."""
    global _saved_eager_mode
    magics = ipython.magics_manager.magics
    for kind, names in (("line", ("tf_graph", "tf_reset", "tf_placement", "tf_summaries")),
                        ("cell", ("tf_trace",))):
        for name in names:
            magics[kind].pop(name, None)
    ipython.magics_manager.registry.pop("TfnbMagics", None)
    if _saved_eager_mode is not _MISSING:
        _eager._eager_mode = _saved_eager_mode
        _saved_eager_mode = _MISSING
