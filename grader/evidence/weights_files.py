"""Weights files read without the frameworks' loaders, so that what a student's file says about
itself never decides what the grader allocates.

A MindSpore checkpoint is a protobuf stream (mindspore/train/checkpoint.proto):
Checkpoint{repeated Value value = 1}, Value{string tag = 1; TensorProto tensor = 2; MapTensorProto
maptensor = 3}, TensorProto{repeated int64 dims = 1; string tensor_type = 2; bytes tensor_content = 3}.
A tensor over 512 KB is saved as several Values with the same tag and dims, their contents in
order. mindspore.load_checkpoint allocates what `dims` claim and fills it from what the file
holds (a 96-byte file claiming 25000x10000 became 1 GB of zeros); here an array is built only
when its contents are exactly dims x itemsize bytes, which the file itself holds.

A safetensors file is an 8-byte header length, a JSON header of name -> {dtype, shape,
data_offsets}, then the data; its header is checked against the file's real size.
"""

from __future__ import annotations

import math
import struct

import numpy as np

from grader.intake.untrusted import Unreadable, load_json

CKPT_DTYPES = {
    "Int8": np.int8,
    "UInt8": np.uint8,
    "Int16": np.int16,
    "UInt16": np.uint16,
    "Int32": np.int32,
    "UInt32": np.uint32,
    "Int64": np.int64,
    "UInt64": np.uint64,
    "Float16": np.float16,
    "Float32": np.float32,
    "Float64": np.float64,
    "Bool": np.bool_,
}
SAFETENSORS_ITEMSIZE = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2}
SAFETENSORS_ITEMSIZE |= {"I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}
MAX_DIMS = 8
MAX_TENSORS = 10_000
MAX_HEADER_BYTES = 16 * 1024**2
CRC_TRAILER = b"crc_num"  # save_checkpoint(crc_check=True) appends b"crc_num" and 10 bytes


def _varint(data: memoryview, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise Unreadable("a number in the checkpoint is cut off or too long")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7


def _fields(view: memoryview):
    """(field number, wire type, value) of one protobuf message: an int for varints, a
    memoryview for length-delimited fields (no copy); other wire types are refused."""
    at, data = 0, view
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
        elif wire == 2:
            length, at = _varint(data, at)
            if at + length > len(data):
                raise Unreadable(f"field {number} claims {length:,} bytes, past the end of the checkpoint")
            value, at = view[at : at + length], at + length
        else:
            raise Unreadable(f"field {number} has wire type {wire}, which checkpoint.proto never writes")
        yield number, wire, value


def _tensor(message) -> tuple[list[int], str, memoryview]:
    dims, dtype, content = [], None, memoryview(b"")
    for number, wire, value in _fields(message):
        if number == 1 and wire == 0:
            dims.append(value - (1 << 64) if value >= 1 << 63 else value)
        elif number == 1:  # packed
            at, raw = 0, value
            while at < len(raw):
                dim, at = _varint(raw, at)
                dims.append(dim - (1 << 64) if dim >= 1 << 63 else dim)
        elif number == 2:
            dtype = bytes(value).decode("utf-8", "replace")
        elif number == 3:
            content = value
        if len(dims) > MAX_DIMS:
            raise Unreadable(f"a tensor claims more than {MAX_DIMS} dimensions")
    if dtype is None:
        raise Unreadable("a tensor has no tensor_type")
    return dims, dtype, content


def read_ckpt(data: bytes) -> dict[str, np.ndarray]:
    """Every tensor of a MindSpore checkpoint, by name; Unreadable when the file is not one or
    a tensor's declared shape does not match the bytes the file holds for it."""
    if len(data) >= 17 and data[-17:-10] == CRC_TRAILER:
        data = data[:-17]
    parts: dict[str, tuple[list[int], str, list[memoryview]]] = {}
    for number, wire, value in _fields(memoryview(data)):
        if number != 1 or wire != 2:
            raise Unreadable(f"not a MindSpore checkpoint (top-level field {number}, wire type {wire})")
        tag, tensor = None, None
        for inner, inner_wire, item in _fields(value):
            if inner == 1 and inner_wire == 2:
                tag = bytes(item).decode("utf-8", "replace")
            elif inner == 2 and inner_wire == 2:
                tensor = _tensor(item)
            elif inner == 3:
                raise Unreadable("holds a MapTensor, which an adapter never has")
        if tag is None or tensor is None:
            raise Unreadable("an entry has no name or no tensor")
        dims, dtype, content = tensor
        if tag in parts:
            if parts[tag][:2] != (dims, dtype):
                raise Unreadable(f"{tag!r} is saved twice with different shapes or types")
            parts[tag][2].append(content)
        elif len(parts) >= MAX_TENSORS:
            raise Unreadable(f"holds more than {MAX_TENSORS:,} tensors")
        else:
            parts[tag] = (dims, dtype, [content])
    if not parts:
        raise Unreadable("holds no tensors")
    return {name: _array(name, *part) for name, part in parts.items()}


def _array(name: str, dims: list[int], dtype: str, contents: list[memoryview]) -> np.ndarray:
    if dtype not in CKPT_DTYPES:
        raise Unreadable(f"{name!r} has tensor_type {dtype!r}, not a numeric type")
    if any(d < 0 for d in dims):
        raise Unreadable(f"{name!r} claims a negative dimension {dims}")
    numpy_type = np.dtype(CKPT_DTYPES[dtype])
    held = sum(len(c) for c in contents)
    shape = [] if dims == [0] and held == numpy_type.itemsize else dims  # a scalar, as mindspore saves one
    wanted = math.prod(shape) * numpy_type.itemsize
    if wanted != held:
        raise Unreadable(f"{name!r} claims shape {dims} of {dtype} ({wanted:,} bytes) but the file holds {held:,} bytes for it")
    return np.frombuffer(b"".join(contents), dtype=numpy_type).reshape(shape)


def safetensors_header(head: bytes, file_size: int) -> dict[str, list[int]]:
    """Shapes by name from the start of a safetensors file (at least its header), checked:
    every tensor's offsets lie in the file and match its shape and dtype."""
    if len(head) < 8:
        raise Unreadable("too short for a safetensors file")
    (length,) = struct.unpack("<Q", head[:8])
    if length > MAX_HEADER_BYTES or 8 + length > file_size:
        raise Unreadable(f"its header claims {length:,} bytes, more than the file or the {MAX_HEADER_BYTES:,} the grader reads")
    if len(head) < 8 + length:
        raise Unreadable("its header is cut off")
    header = load_json(head[8 : 8 + length], "its header")
    if not isinstance(header, dict):
        raise Unreadable("its header is not a JSON object")
    data_size, shapes = file_size - 8 - length, {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if len(shapes) >= MAX_TENSORS:
            raise Unreadable(f"holds more than {MAX_TENSORS:,} tensors")
        if not isinstance(info, dict) or info.get("dtype") not in SAFETENSORS_ITEMSIZE:
            raise Unreadable(f"{name!r} has no known dtype")
        shape, offsets = info.get("shape"), info.get("data_offsets")
        valid_shape = isinstance(shape, list) and len(shape) <= MAX_DIMS and all(isinstance(d, int) and d >= 0 for d in shape)
        valid_offsets = isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)
        if not valid_shape or not valid_offsets:
            raise Unreadable(f"{name!r} has no valid shape or data_offsets")
        begin, end = offsets
        if not 0 <= begin <= end <= data_size or end - begin != math.prod(shape) * SAFETENSORS_ITEMSIZE[info["dtype"]]:
            raise Unreadable(f"{name!r} claims shape {shape} at bytes {begin}-{end}, which the file does not hold")
        shapes[name] = shape
    return shapes
