"""Static HTML tables that sort when a heading is clicked (where the page runs scripts).

Used by the outputs that must read well without a widget: the placement view's op table and
the op profile. Each cell carries its raw value in ``data-v`` so numbers sort as numbers.
"""
import html

__all__ = ["sortable_table", "SORT_SCRIPT"]

# Sorts the table just before this script (numbers numerically, the rest as text), toggling
# the direction on each click of a heading; the sorted heading shows ▲/▼.
SORT_SCRIPT = (
    "<script>(function(s){var t=s.previousElementSibling;if(t&&t.tagName!=='TABLE')"
    "t=t.querySelector('table');if(!t)return;t.querySelectorAll('thead th').forEach("
    "function(h,i){h.style.cursor='pointer';h.onclick=function(){var b=t.tBodies[0],"
    "rs=[].slice.call(b.rows),d=h.dataset.dir==='a'?-1:1;t.querySelectorAll('thead th')"
    ".forEach(function(o){o.dataset.dir='';o.textContent=o.textContent.replace(/ [▲▼]$/,'');});"
    "h.dataset.dir=d>0?'a':'d';h.textContent+=d>0?' ▲':' ▼';rs.sort(function(x,y){"
    "var a=x.cells[i].dataset.v,c=y.cells[i].dataset.v,p=parseFloat(a),q=parseFloat(c);"
    "if(a===''&&c!=='')return 1;if(c===''&&a!=='')return -1;"
    "if(!isNaN(p)&&!isNaN(q))return d*(p-q);return d*(a<c?-1:a>c?1:0);});"
    "rs.forEach(function(r){b.appendChild(r);});};});})(document.currentScript);</script>")

_CELL = 'style="padding:1px 8px;text-align:%s;white-space:nowrap"'


def sortable_table(columns, rows, css_class="", row_attrs=None, max_height=None):
    """An HTML table whose headings sort it.

    Args:
        columns: ``[(key, heading, numeric)]``.
        rows: dicts holding each key's raw value, and ``"_text"`` ({key: HTML shown}) for
            cells whose display differs from ``html.escape(value)``.
        css_class: class of the ``<table>``.
        row_attrs: a function row -> extra attribute text for its ``<tr>`` (e.g. data-op).
        max_height: px; a scrolling box around the table when given.

    Returns:
        str: the table (inside a scrolling ``<div>`` with ``max_height``) and its sort script.
    """
    head = "".join('<th data-col="%s" %s>%s</th>' % (html.escape(k), _CELL % (
        "right" if num else "left"), html.escape(h)) for k, h, num in columns)
    body = []
    for r in rows:
        shown = r.get("_text") or {}
        cells = []
        for k, _, num in columns:
            v = r.get(k)
            text = shown.get(k)
            if text is None:
                text = "–" if v is None or v == "" else html.escape(str(v))
            cells.append('<td %s data-v="%s">%s</td>' % (
                _CELL % ("right" if num else "left"), html.escape("" if v is None else str(v)),
                text))
        extra = (" " + row_attrs(r)) if row_attrs else ""
        body.append("<tr%s>%s</tr>" % (extra, "".join(cells)))
    table = ('<table class="%s" style="border-collapse:collapse;font:12px sans-serif">'
             '<thead><tr style="border-bottom:1px solid #ccc">%s</tr></thead><tbody>%s</tbody>'
             '</table>' % (html.escape(css_class), head, "".join(body)))
    if max_height:
        table = ('<div style="max-height:%dpx;overflow:auto;border:1px solid #ddd">%s</div>'
                 % (max_height, table))
    return table + SORT_SCRIPT
