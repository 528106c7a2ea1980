"""Test helpers for TensorFlow V2 checkpoints (importable as ``checkpoint_helpers``: tests/ is
on sys.path)."""
from tfnb.io import sstable, tensor_bundle


def rewrite_bundle_entry(prefix, name, **fields):
    """Rewrites ``prefix.index`` so tensor ``name``'s BundleEntryProto has other ``fields``
    (dtype, shape, offset, size, shard); the table stays valid (checksums right)."""
    with open(prefix + ".index", "rb") as f:
        items = sstable.read_table(f.read())
    out = []
    for key, value in items:
        if key == name.encode():
            e = tensor_bundle._Entry.decode(value)
            value = tensor_bundle._encode_entry(fields.get("dtype", e.dtype),
                                                fields.get("shape", e.shape[0]),
                                                fields.get("offset", e.offset),
                                                fields.get("size", e.size), e.crc32c,
                                                fields.get("shard", e.shard_id))
        out.append((key, value))
    with open(prefix + ".index", "wb") as f:
        f.write(sstable.write_table(out))
