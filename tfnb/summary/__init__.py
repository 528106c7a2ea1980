"""``tf.summary``: summary ops and ``FileWriter``, for TensorBoard (through tensorboardX).

Summary ops (``scalar``, ``histogram``, ``image``, ``audio``, ``text``,
``tensor_summary``, ``merge``, ``merge_all``) are graph ops returning serialized
``Summary`` protos; a :class:`FileWriter` writes them, the graph (as TF's ``GraphDef``,
with devices) and step traces (``RunMetadata``) to event files TensorBoard reads.
tensorboardX is imported only when summaries are computed or written, so
``import tfnb`` needs only NumPy.

Example:
    >>> tf.summary.scalar("loss", loss)
    >>> merged = tf.summary.merge_all()
    >>> with tf.summary.FileWriter("/tmp/logs", sess.graph) as writer:
    ...     writer.add_summary(sess.run(merged), global_step=0)
"""
from .event_file import summary_iterator
from .protos import (Event, HistogramProto, SessionLog, Summary, SummaryMetadata,
                     TaggedRunMetadata)
from .summary_ops import audio, histogram, image, merge, merge_all, scalar, tensor_summary, text
from .writer import FileWriter, FileWriterCache

__all__ = ["scalar", "histogram", "image", "audio", "text", "tensor_summary", "merge", "merge_all",
           "FileWriter", "FileWriterCache", "Summary", "SummaryMetadata", "HistogramProto", "Event",
           "SessionLog", "TaggedRunMetadata", "summary_iterator"]
