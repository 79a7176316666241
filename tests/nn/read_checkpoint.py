#!/usr/bin/env python3
"""read_checkpoint.py: reads a safetensors file (a tape checkpoint) with only the standard library
and numpy, as an independent check of the format tape writes.

  read_checkpoint.py FILE --list                  name, dtype and shape of every tensor, then metadata
  read_checkpoint.py FILE --expect EXPECT.json    compare with EXPECT.json, which maps each tensor
                                                  name to {"shape": [...], "values": [flat list]}
                                                  (and optionally "__metadata__" to {key: value})

With --expect the exit status is 0 only if the file holds exactly the expected tensors, each with
the expected shape and bit-identical values (and the expected metadata, if given); 1 on a
mismatch, 2 if the file is not a valid safetensors file.
"""
import argparse
import json
import struct
import sys

import numpy as np

DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": None, "I64": "<i8", "I32": "<i4",
          "I16": "<i2", "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}


class FormatError(Exception):
    pass


def read_safetensors(path):
    """Returns (tensors: {name: np.ndarray}, dtypes: {name: str}, metadata: dict); checks the layout."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise FormatError(f"{path}: {len(blob)} bytes, too short for the header length")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        raise FormatError(f"{path}: header length {n} exceeds the file")
    if n % 8 != 0:
        raise FormatError(f"{path}: header length {n} is not a multiple of 8")
    try:
        header = json.loads(blob[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise FormatError(f"{path}: header is not UTF-8 JSON: {e}")
    if not isinstance(header, dict):
        raise FormatError(f"{path}: header is not a JSON object")
    data = blob[8 + n:]
    metadata = header.pop("__metadata__", {}) or {}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise FormatError(f"{path}: __metadata__ is not string -> string")
    tensors, dtypes, position = {}, {}, 0
    for name, info in sorted(header.items(), key=lambda kv: tuple(kv[1].get("data_offsets", [0, 0]))):
        tag, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
        if DTYPES.get(tag) is None:
            raise FormatError(f"{path}: tensor '{name}': dtype {tag} is not readable here")
        dtype = np.dtype(DTYPES[tag])
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if begin != position or end - begin != count * dtype.itemsize or end > len(data):
            raise FormatError(f"{path}: tensor '{name}': bad data_offsets [{begin}, {end}] "
                              f"(expected to start at {position}, {count * dtype.itemsize} bytes)")
        tensors[name] = np.frombuffer(data, dtype=dtype, count=count, offset=begin).reshape(shape)
        dtypes[name] = tag
        position = end
    if position != len(data):
        raise FormatError(f"{path}: {len(data) - position} trailing bytes after the last tensor")
    return tensors, dtypes, metadata


def list_tensors(tensors, dtypes, metadata):
    for name in sorted(tensors):
        print(f"{name}\t{dtypes[name]}\t{list(tensors[name].shape)}")
    for key in sorted(metadata):
        print(f"__metadata__\t{key}\t{metadata[key]}")


def first_difference(actual, expected):
    """Index and values of the first element whose bits differ."""
    if actual.tobytes() == expected.tobytes():
        return None
    a, e = actual.reshape(-1), expected.reshape(-1)
    bits = np.dtype(f"<u{a.dtype.itemsize}")
    i = int(np.argmax(a.view(bits) != e.view(bits)))
    return i, a[i], e[i]


def compare(tensors, metadata, expect):
    """Prints every mismatch; returns True when everything matches."""
    ok = True
    expected_metadata = expect.pop("__metadata__", None)
    if expected_metadata is not None and expected_metadata != metadata:
        print(f"metadata differs: file {metadata}, expected {expected_metadata}")
        ok = False
    for name in sorted(set(tensors) - set(expect)):
        print(f"tensor '{name}' is in the file but not expected")
        ok = False
    for name in sorted(expect):
        if name not in tensors:
            print(f"tensor '{name}' is missing from the file")
            ok = False
            continue
        actual, spec = tensors[name], expect[name]
        if list(actual.shape) != list(spec["shape"]):
            print(f"tensor '{name}': shape {list(actual.shape)} in the file, expected {spec['shape']}")
            ok = False
            continue
        expected = np.array(spec["values"], dtype=actual.dtype).reshape(actual.shape)
        diff = first_difference(actual, expected)
        if diff is not None:
            print(f"tensor '{name}': element {diff[0]} is {diff[1]!r} in the file, expected {diff[2]!r}")
            ok = False
    return ok


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file")
    parser.add_argument("--expect", help="JSON file of expected tensors")
    parser.add_argument("--list", action="store_true", help="print name, dtype and shape per tensor")
    args = parser.parse_args(argv)
    try:
        tensors, dtypes, metadata = read_safetensors(args.file)
    except (OSError, FormatError, AttributeError, KeyError, TypeError, ValueError) as e:
        print(f"read_checkpoint: {e}", file=sys.stderr)
        return 2
    if args.list or not args.expect:
        list_tensors(tensors, dtypes, metadata)
    if args.expect:
        with open(args.expect, encoding="utf-8") as f:
            expect = json.load(f)
        if not compare(tensors, metadata, expect):
            return 1
        print(f"read_checkpoint: {len(tensors)} tensors match {args.expect}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
