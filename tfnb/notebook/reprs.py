"""Rich display of tfnb objects: MIME bundles for Jupyter, plain text for terminals.

Tensor, Operation, Graph, Session and Variable call these lazily from their
``_repr_mimebundle_``/``_repr_html_`` methods, so nothing here is imported with
``import tfnb``. Each bundle's ``text/plain`` is exactly the object's ``repr()``;
``text/html`` adds what a notebook reader wants to see:

* a Tensor: name, dtype, shape, device, the op that makes it and where it was
  created, and its value (abbreviated like NumPy) when it has been computed;
* an Operation: type, inputs and outputs with dtypes and shapes, control inputs,
  attrs, device and creation location (with the line of code);
* a Graph: its drawing (:mod:`.graph_draw`);
* a Session: its devices and its cached plans (fetches, feeds, op counts);
* a Variable: dtype, shape, device, trainable, initializer and value.
"""
import html

from ..framework.tensor_shape import shape_str
from .graph_model import format_attr, location_info, value_preview

__all__ = ["tensor_bundle", "operation_bundle", "graph_bundle", "session_bundle",
           "variable_bundle", "html_of"]

_TABLE = ('<table class="tfnb-repr" style="border-collapse:collapse;font:12px sans-serif;'
          'text-align:left">%s</table>')
_TH = '<th style="text-align:left;padding:1px 10px 1px 0;color:#666;font-weight:normal;' \
      'vertical-align:top">%s</th>'
_TD = '<td style="text-align:left;padding:1px 8px 1px 0;vertical-align:top">%s</td>'
_PRE = '<pre style="margin:2px 0;font-size:12px;line-height:1.25">%s</pre>'


def _e(x):
    return html.escape(str(x))


def _code(x):
    return "<code>%s</code>" % _e(x)


def _rows(rows):
    """Key/value rows; values are already HTML."""
    return "".join("<tr>%s%s</tr>" % (_TH % _e(k), _TD % v) for k, v in rows)


def _grid(header, rows):
    """A small table with a header row; cells are already HTML."""
    head = "<tr>%s</tr>" % "".join(_TH % _e(h) for h in header)
    body = "".join("<tr>%s</tr>" % "".join(_TD % c for c in r) for r in rows)
    return _TABLE % (head + body)


def _section(title, inner):
    return ('<div style="font:bold 12px sans-serif;color:#444;margin:6px 0 2px">%s</div>%s'
            % (_e(title), inner))


def _box(title, inner):
    return ('<div class="tfnb-repr-box" style="border-left:3px solid #4a6fa5;padding:2px 8px">'
            '<div style="font:bold 12px sans-serif;margin-bottom:2px">%s</div>%s</div>'
            % (title, inner))


def _location_html(loc):
    info = location_info(loc)
    if info is None:
        return "<i>unknown</i>"
    text = "%s in %s" % (_e(info["text"]), _code(info["function"]))
    if info["code"]:
        text += "<br>" + _code(info["code"])
    return text


def _device_html(device):
    return _code(device) if device else "<i>none requested</i>"


def _shape_html(t):
    return _e(shape_str(t._shape.as_tuple()))


def _value_html(value, threshold=100):
    if value is None:
        return ("<i>not computed</i> &mdash; run it: <code>sess.run(t)</code> or "
                "<code>t.eval()</code>")
    return _PRE % _e(value_preview(value, threshold=threshold))


def html_of(obj):
    """The ``text/html`` of any object that has a bundle here (used by ``_repr_html_``)."""
    return _bundle_for(obj)["text/html"]


def _bundle_for(obj):
    from ..framework.graph import Graph, Operation, Tensor
    if isinstance(obj, Tensor):
        return tensor_bundle(obj)
    if isinstance(obj, Operation):
        return operation_bundle(obj)
    if isinstance(obj, Graph):
        return graph_bundle(obj)
    if hasattr(obj, "cached_plans"):
        return session_bundle(obj)
    return variable_bundle(obj)


# ----------------------------------------------------------------------------------------------
# Tensor
# ----------------------------------------------------------------------------------------------
def tensor_bundle(t):
    """MIME bundle of a Tensor: plain ``repr`` and an HTML card with its value if computed.

    Args:
        t: a ``tf.Tensor``.

    Returns:
        dict with ``text/plain`` and ``text/html``.
    """
    op = t._op
    rows = [("name", _code(t.name)), ("dtype", _e(t.dtype.name)), ("shape", _shape_html(t)),
            ("device", _device_html(op._device)),
            ("op", "%s %s" % (_code(op._name), _e("(%s)" % op.type))),
            ("created at", _location_html(op._location))]
    value = t.graph._eager_value(t)
    body = _TABLE % _rows(rows) + _section("value", _value_html(value))
    return {"text/plain": repr(t), "text/html": _box("tf.Tensor " + _code(t.name), body)}


# ----------------------------------------------------------------------------------------------
# Operation
# ----------------------------------------------------------------------------------------------
def operation_bundle(op):
    """MIME bundle of an Operation: type, inputs/outputs with shapes, attrs, device, location.

    Args:
        op: a ``tf.Operation``.

    Returns:
        dict with ``text/plain`` and ``text/html``.
    """
    rows = [("name", _code(op._name)), ("type", _code(op.type)),
            ("device", _device_html(op._device)), ("created at", _location_html(op._location))]
    body = _TABLE % _rows(rows)
    if op._inputs:
        body += _section("inputs", _grid(
            ["#", "tensor", "dtype", "shape", "from op"],
            [[str(i), _code(t.name), _e(t.dtype.name), _shape_html(t), _e(t._op.type)]
             for i, t in enumerate(op._inputs)]))
    if op._control_inputs:
        body += _section("control inputs", ", ".join(_code(c._name) for c in op._control_inputs))
    if op._outputs:
        body += _section("outputs", _grid(
            ["#", "tensor", "dtype", "shape", "consumers"],
            [[str(i), _code(t.name), _e(t.dtype.name), _shape_html(t), str(len(t._consumers))]
             for i, t in enumerate(op._outputs)]))
    if op._attrs:
        body += _section("attrs", _TABLE % _rows(
            (k, _e(format_attr(v, limit=120))) for k, v in sorted(op._attrs.items())))
    return {"text/plain": repr(op), "text/html": _box("tf.Operation " + _code(op._name), body)}


# ----------------------------------------------------------------------------------------------
# Graph
# ----------------------------------------------------------------------------------------------
def graph_bundle(graph):
    """MIME bundle of a Graph: its drawing (SVG by ``dot``, else laid out in the browser).

    Args:
        graph: a ``tf.Graph``.

    Returns:
        dict with ``text/plain`` and ``text/html``.
    """
    from .graph_draw import to_html
    from .graph_model import graph_to_model
    return {"text/plain": repr(graph), "text/html": to_html(graph_to_model(graph))}


# ----------------------------------------------------------------------------------------------
# Session
# ----------------------------------------------------------------------------------------------
def _plan_row(i, plan):
    fetches = ", ".join(_code(t.name) for t in plan.fetch_tensors) or "<i>(ops only)</i>"
    feeds = ", ".join(_code(t.name) for t in plan.feed_tensors) or "&ndash;"
    return [str(i), fetches, feeds, str(len(plan.ops)), str(len(plan.body)),
            "yes" if plan.writes else "no"]


def session_bundle(sess):
    """MIME bundle of a Session: target, graph size, devices and cached plans.

    Args:
        sess: a ``tf.Session`` / ``tf.InteractiveSession``.

    Returns:
        dict with ``text/plain`` and ``text/html``.
    """
    closed = getattr(sess, "_closed", False)
    eager = getattr(sess, "_eager", None) is not None
    rows = [("target", _code(sess.sess_str) if sess.sess_str else "<i>local</i>"),
            ("graph", "%d ops" % sess.graph.version),
            ("state", "closed" if closed else "open"),
            ("eager evaluation", "on" if eager else "off")]
    body = _TABLE % _rows(rows)
    devices = sess.list_devices()
    body += _section("devices", _grid(
        ["name", "type", "memory"],
        [[_code(d.name), _e(d.device_type), _e("%.1f GiB" % (d.memory_limit_bytes / 2 ** 30))
          if d.memory_limit_bytes else "&ndash;"] for d in devices]))
    plans = sess.cached_plans()
    if plans:
        body += _section("cached plans (%d)" % len(plans), _grid(
            ["#", "fetches", "feeds", "ops", "kernel calls", "writes state"],
            [_plan_row(i, p) for i, p in enumerate(plans)]))
    else:
        body += _section("cached plans", "<i>none yet: plans are compiled on the first run of "
                                         "each fetch/feed combination</i>")
    return {"text/plain": repr(sess), "text/html": _box("tf." + _e(type(sess).__name__), body)}


# ----------------------------------------------------------------------------------------------
# Variable
# ----------------------------------------------------------------------------------------------
def variable_bundle(v):
    """MIME bundle of a Variable: dtype, shape, device, trainable, initializer and value.

    Args:
        v: a ``tf.Variable``.

    Returns:
        dict with ``text/plain`` and ``text/html``.
    """
    op = v.op
    rows = [("name", _code(v.name)), ("dtype", _e(v.dtype.name)), ("shape", _e(v.shape)),
            ("device", _device_html(op._device)), ("trainable", "yes" if v.trainable else "no"),
            ("initializer", _code(v.initializer.name)),
            ("created at", _location_html(op._location))]
    ev = v.graph._eager_evaluator
    value = None if ev is None else ev.value(v._snapshot)
    body = _TABLE % _rows(rows)
    if value is None:
        body += _section("value", "<i>not shown</i> &mdash; initialize it and run "
                                  "<code>sess.run(v)</code>")
    else:
        body += _section("value", _value_html(value))
    return {"text/plain": repr(v), "text/html": _box("tf.Variable " + _code(v.name), body)}
