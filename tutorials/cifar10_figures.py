"""Pictures of CIFAR-10 images with their labels (and predictions): matplotlib, else HTML.

Without matplotlib the grid is an HTML table of PNG images encoded here with zlib, so the
notebook shows pictures either way.
"""
import base64
import struct
import zlib

import numpy as np

from tutorials.cifar10_input import CLASS_NAMES


def _png(image, scale=3):
    """PNG bytes of an HxWx3 uint8 image, each pixel repeated ``scale`` times."""
    image = np.repeat(np.repeat(np.asarray(image, np.uint8), scale, 0), scale, 1)
    h, w, _ = image.shape
    raw = b"".join(b"\x00" + image[y].tobytes() for y in range(h))

    def chunk(kind, data):
        body = kind + data
        crc = struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + body + crc
    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def _caption(label, prediction):
    if prediction is None:
        return CLASS_NAMES[label], True
    ok = int(prediction) == int(label)
    text = CLASS_NAMES[int(prediction)] + ("" if ok else " (is %s)" % CLASS_NAMES[int(label)])
    return text, ok


class ImageGridHTML:
    """The HTML fallback grid (``_repr_html_`` in Jupyter, ``.html`` elsewhere)."""

    def __init__(self, images, labels, predictions=None, title="", columns=8):
        cells = []
        for i, image in enumerate(images):
            text, ok = _caption(labels[i], None if predictions is None else predictions[i])
            src = base64.b64encode(_png(image)).decode()
            cells.append('<td style="text-align:center;color:%s;font:11px sans-serif">'
                         '<img src="data:image/png;base64,%s"><br>%s</td>'
                         % ("black" if ok else "#c00", src, text))
        rows = ["<tr>%s</tr>" % "".join(cells[k:k + columns])
                for k in range(0, len(cells), columns)]
        self.html = "<b>%s</b><table>%s</table>" % (title, "".join(rows))

    def _repr_html_(self):
        return self.html


def image_grid(images, labels, predictions=None, title="", columns=8):
    """A grid of ``images`` (N,32,32,3 uint8) captioned with labels or predicted labels.

    Wrong predictions are captioned in red with the true label. Returns a matplotlib Figure
    when matplotlib is installed, else an :class:`ImageGridHTML`.
    """
    try:
        import matplotlib
        matplotlib.use("Agg") if not _in_ipython() else None
        import matplotlib.pyplot as plt
    except ImportError:
        return ImageGridHTML(images, labels, predictions, title, columns)
    rows = (len(images) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(1.4 * columns, 1.6 * rows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < len(images):
            ax.imshow(np.asarray(images[k], np.uint8), interpolation="nearest")
            text, ok = _caption(labels[k], None if predictions is None else predictions[k])
            ax.set_title(text, fontsize=8, color="black" if ok else "#c00")
    fig.suptitle(title)
    fig.tight_layout()
    plt.close(fig)  # displayed by the notebook's repr, not by pyplot's global state
    return fig


def _in_ipython():
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None
