#!/usr/bin/env python
"""Regenerates the TensorFlow message schemas in this folder (maintainers only).

Run with a Python that has ``tensorflow`` (any 2.x) and ``grpcio-tools`` installed -- never
tfnb's own environment, TensorFlow is no dependency of tfnb::

    python3 -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu grpcio-tools
    /tmp/tfvenv/bin/python tfnb/io/protos/regenerate.py

Two steps:

1. The ``.proto`` files: for each message file tfnb needs (``FILES`` and what they import),
   the schema that TensorFlow compiled into its ``*_pb2`` modules -- message, enum and field
   names, numbers, types and labels -- is written back as ``.proto`` text under its TensorFlow
   path (``tensorflow/core/framework/graph.proto``...). TensorFlow's comments and language
   options are not carried over; the schema is what interoperability needs.
2. ``tf_protos.binpb``: protoc (from grpcio-tools) compiles those files into one
   ``FileDescriptorSet`` (with the Google well-known types they import). tfnb loads that set
   into a descriptor pool of its own at run time (see ``__init__.py``), so it needs no
   generated code tied to one protobuf version and never clashes with TensorFlow's or
   tensorboardX's classes in the same process.
"""
import importlib
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUT = os.path.join(HERE, "tf_protos.binpb")

# The modules whose files tfnb uses; their tensorflow/ imports are added automatically.
FILES = [
    "tensorflow.core.framework.graph_pb2",
    "tensorflow.core.framework.variable_pb2",
    "tensorflow.core.framework.tensor_slice_pb2",
    "tensorflow.core.protobuf.meta_graph_pb2",
    "tensorflow.core.protobuf.saver_pb2",
    "tensorflow.core.protobuf.saved_model_pb2",
    "tensorflow.core.protobuf.tensor_bundle_pb2",
    "tensorflow.python.training.checkpoint_state_pb2",
]

HEADER = """\
// Copyright 2015 The TensorFlow Authors. All Rights Reserved.
// Licensed under the Apache License, Version 2.0 (LICENSE in this folder).
//
// The schema of TensorFlow's
//   {path}:
// message, enum and field names, numbers, types and labels as TensorFlow compiles
// them, written back as .proto text by regenerate.py (TensorFlow's comments and
// language options are not carried over).
"""

_SCALARS = {1: "double", 2: "float", 3: "int64", 4: "uint64", 5: "int32", 6: "fixed64",
            7: "fixed32", 8: "bool", 9: "string", 12: "bytes", 13: "uint32", 15: "sfixed32",
            16: "sfixed64", 17: "sint32", 18: "sint64"}
_MESSAGE, _ENUM = 11, 14
_REQUIRED, _REPEATED = 2, 3


def _type_name(field, package):
    if field.type in _SCALARS:
        return _SCALARS[field.type]
    name = field.type_name.lstrip(".")
    if package and name.startswith(package + "."):
        return name[len(package) + 1:]
    return "." + name


def _field_line(field, package, indent, maps, proto2):
    options = []
    if field.type == _MESSAGE and field.type_name in maps:
        key, value = maps[field.type_name]
        kind = "map<%s, %s>" % (_type_name(key, package), _type_name(value, package))
        label = ""
    else:
        kind = _type_name(field, package)
        if field.label == _REPEATED:
            label = "repeated "
        elif proto2:
            label = "required " if field.label == _REQUIRED else "optional "
        else:
            label = "optional " if field.proto3_optional else ""
        if proto2 and field.HasField("default_value"):
            value = field.default_value
            options.append("default = %s" % ('"%s"' % value if field.type in (9, 12) else value))
        if field.options.HasField("packed"):
            options.append("packed = %s" % ("true" if field.options.packed else "false"))
    suffix = " [%s]" % ", ".join(options) if options else ""
    return "%s%s%s %s = %d%s;" % (indent, label, kind, field.name, field.number, suffix)


def _enum_lines(enum, indent):
    lines = ["%senum %s {" % (indent, enum.name)]
    if enum.options.allow_alias:
        lines.append("%s  option allow_alias = true;" % indent)
    for v in enum.value:
        lines.append("%s  %s = %d;" % (indent, v.name, v.number))
    for r in enum.reserved_range:
        lines.append("%s  reserved %d to %d;" % (indent, r.start, r.end))
    lines.append("%s}" % indent)
    return lines


def _message_lines(msg, package, indent, scope, proto2):
    full = "%s.%s" % (scope, msg.name)
    maps = {"%s.%s" % (full, n.name): (n.field[0], n.field[1])
            for n in msg.nested_type if n.options.map_entry}
    lines = ["%smessage %s {" % (indent, msg.name)]
    inner = indent + "  "
    for e in msg.enum_type:
        lines += _enum_lines(e, inner)
    for n in msg.nested_type:
        if not n.options.map_entry:
            lines += _message_lines(n, package, inner, full, proto2)
    real_oneofs = {}
    for f in msg.field:
        if f.HasField("oneof_index") and not f.proto3_optional:
            real_oneofs.setdefault(f.oneof_index, []).append(f)
    done = set()
    for f in msg.field:
        if f.HasField("oneof_index") and not f.proto3_optional:
            if f.oneof_index in done:
                continue
            done.add(f.oneof_index)
            lines.append("%soneof %s {" % (inner, msg.oneof_decl[f.oneof_index].name))
            lines += [_field_line(g, package, inner + "  ", maps, proto2)
                      for g in real_oneofs[f.oneof_index]]
            lines.append("%s}" % inner)
        else:
            lines.append(_field_line(f, package, inner, maps, proto2))
    for r in msg.reserved_range:
        lines.append("%sreserved %d to %d;" % (inner, r.start, r.end - 1))
    if msg.reserved_name:
        lines.append("%sreserved %s;" % (inner, ", ".join('"%s"' % n for n in msg.reserved_name)))
    lines.append("%s}" % indent)
    return lines


def proto_text(fdp):
    """The .proto text of a FileDescriptorProto (proto2 or proto3, no extensions)."""
    syntax = fdp.syntax or "proto2"
    if syntax not in ("proto2", "proto3") or fdp.extension or fdp.service:
        raise ValueError("%s uses what this script does not write (editions, extensions or "
                         "services)" % fdp.name)
    lines = [HEADER.format(path=fdp.name), 'syntax = "%s";' % syntax, "",
             "package %s;" % fdp.package, ""]
    lines += ['import "%s";' % d for d in fdp.dependency]
    if fdp.dependency:
        lines.append("")
    for e in fdp.enum_type:
        lines += _enum_lines(e, "") + [""]
    for m in fdp.message_type:
        lines += _message_lines(m, fdp.package, "", "." + fdp.package, syntax == "proto2") + [""]
    return "\n".join(lines)


def _file_protos():
    from google.protobuf import descriptor_pb2
    todo = [importlib.import_module(m).DESCRIPTOR for m in FILES]
    seen = {}
    while todo:
        fd = todo.pop()
        if fd.name in seen or not fd.name.startswith("tensorflow/"):
            continue
        fdp = descriptor_pb2.FileDescriptorProto()
        fd.CopyToProto(fdp)
        seen[fd.name] = fdp
        todo.extend(fd.dependencies)
    return seen


def main():
    import grpc_tools
    from grpc_tools import protoc
    files = _file_protos()
    for name, fdp in sorted(files.items()):
        path = os.path.join(HERE, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(proto_text(fdp))
        print("wrote", name)
    include = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    args = ["protoc", "-I" + HERE, "-I" + include, "--include_imports",
            "--descriptor_set_out=" + OUTPUT] + sorted(files)
    if protoc.main(args) != 0:
        sys.exit("protoc failed")
    print("wrote", os.path.relpath(OUTPUT, HERE), os.path.getsize(OUTPUT), "bytes")
    _verify(files)


def _fields(fdp):
    """{message path: [(field name, number, label, type, type name), ...]} of one file."""
    out = {}

    def visit(msg, scope):
        path = scope + "." + msg.name
        out[path] = sorted((f.name, f.number, f.label, f.type, f.type_name, f.proto3_optional)
                           for f in msg.field)
        for n in msg.nested_type:
            visit(n, path)
        for e in msg.enum_type:
            out[path + "." + e.name] = sorted((v.name, v.number) for v in e.value)
    for m in fdp.message_type:
        visit(m, fdp.package)
    for e in fdp.enum_type:
        out[fdp.package + "." + e.name] = sorted((v.name, v.number) for v in e.value)
    return out


def _verify(files):
    """Checks that the compiled set describes exactly TensorFlow's messages."""
    from google.protobuf import descriptor_pb2
    with open(OUTPUT, "rb") as f:
        compiled = {p.name: p for p in descriptor_pb2.FileDescriptorSet.FromString(f.read()).file}
    for name, fdp in files.items():
        if _fields(compiled[name]) != _fields(fdp):
            sys.exit("%s: the compiled schema differs from TensorFlow's" % name)
    print("checked: the compiled schemas equal TensorFlow's (%d files)" % len(files))


if __name__ == "__main__":
    main()
