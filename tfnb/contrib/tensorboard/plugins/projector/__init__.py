"""TensorBoard's embedding projector: ``ProjectorConfig`` and ``visualize_embeddings``.

TensorBoard's projector plugin reads ``projector_config.pbtxt`` (a ``ProjectorConfig`` message
in protobuf text format) from the log directory; each embedding names a variable saved in the
directory's checkpoint and, optionally, a ``metadata.tsv`` with one label per row.

Example:
    >>> config = projector.ProjectorConfig()
    >>> emb = config.embeddings.add()
    >>> emb.tensor_name = embeddings.name
    >>> emb.metadata_path = "metadata.tsv"
    >>> projector.visualize_embeddings(writer, config)
"""
import os

__all__ = ["ProjectorConfig", "EmbeddingInfo", "SpriteMetadata", "visualize_embeddings"]

PROJECTOR_FILENAME = "projector_config.pbtxt"


def _quote(s):
    return '"%s"' % str(s).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class SpriteMetadata:
    """A sprite image of thumbnails, one per row of the embedding."""

    def __init__(self):
        self.image_path = ""
        self.single_image_dim = []

    def _text(self, indent):
        pad = " " * indent
        out = [pad + "image_path: " + _quote(self.image_path)] if self.image_path else []
        out += [pad + "single_image_dim: %d" % int(d) for d in self.single_image_dim]
        return out


class EmbeddingInfo:
    """One embedding: the tensor (variable) name and its metadata/bookmark/sprite files."""

    def __init__(self):
        self.tensor_name = ""
        self.metadata_path = ""
        self.bookmarks_path = ""
        self.tensor_shape = []
        self.tensor_path = ""
        self.sprite = SpriteMetadata()

    def _text(self, indent):
        pad = " " * indent
        out = []
        for field in ("tensor_name", "metadata_path", "bookmarks_path"):
            if getattr(self, field):
                out.append("%s%s: %s" % (pad, field, _quote(getattr(self, field))))
        out += [pad + "tensor_shape: %d" % int(d) for d in self.tensor_shape]
        sprite = self.sprite._text(indent + 2)
        if sprite:
            out += [pad + "sprite {"] + sprite + [pad + "}"]
        if self.tensor_path:
            out.append(pad + "tensor_path: " + _quote(self.tensor_path))
        return out


class _Repeated(list):
    def add(self):
        item = EmbeddingInfo()
        self.append(item)
        return item


class ProjectorConfig:
    """The projector's configuration message (``model_checkpoint_path``, ``embeddings``)."""

    def __init__(self):
        self.model_checkpoint_path = ""
        self.model_checkpoint_dir = ""
        self.embeddings = _Repeated()

    def to_text(self):
        """The message in protobuf text format, as TensorBoard parses it."""
        out = []
        if self.model_checkpoint_path:
            out.append("model_checkpoint_path: " + _quote(self.model_checkpoint_path))
        for e in self.embeddings:
            if not e.tensor_name:
                raise ValueError("every embedding needs a tensor_name")
            out += ["embeddings {"] + e._text(2) + ["}"]
        if self.model_checkpoint_dir:
            out.append("model_checkpoint_dir: " + _quote(self.model_checkpoint_dir))
        return "\n".join(out) + "\n"

    __str__ = to_text


def visualize_embeddings(summary_writer, config):
    """Writes ``projector_config.pbtxt`` into the writer's log directory.

    Args:
        summary_writer: a ``tf.summary.FileWriter`` (its ``get_logdir()`` is used).
        config: a :class:`ProjectorConfig`.
    """
    logdir = summary_writer.get_logdir()
    if not logdir:
        raise ValueError("Summary writer must have a logdir")
    text = config.to_text()
    os.makedirs(logdir, exist_ok=True)
    with open(os.path.join(logdir, PROJECTOR_FILENAME), "w") as f:
        f.write(text)
