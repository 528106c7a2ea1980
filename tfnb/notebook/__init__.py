"""tfnb in Jupyter: rich reprs, graph drawing, widgets and the IPython extension.

Nothing here is imported by ``import tfnb``: the core runs with only NumPy installed.
"""

# --- rich reprs, graph model/drawing, GraphExplorer ---------------------------------------------
from .graph_draw import GraphDrawing, draw_graph, to_dot, to_html, to_svg  # noqa: F401
from .graph_model import graph_to_model, node_details  # noqa: F401
from .placement_view import PlacementView, placement_model, placement_view  # noqa: F401


def __getattr__(name):
    # GraphExplorer needs anywidget (the `notebook` extra): import it only when asked for.
    if name == "GraphExplorer":
        from .graph_explorer import GraphExplorer
        return GraphExplorer
    if name == "SummaryViewer":  # reads event files through tfnb.summary's protos
        from .summaries import SummaryViewer
        return SummaryViewer
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
# --- end rich reprs, graph model/drawing, GraphExplorer -----------------------------------------

# --- training monitor, step timeline, IPython magics -------------------------------------------
from .training_monitor import TrainingMonitor, monitor  # noqa: E402
from .step_timeline import StepTimeline  # noqa: E402
# --- end training monitor, step timeline, IPython magics ---------------------------------------
