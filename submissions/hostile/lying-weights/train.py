"""Weights files that lie about their size: a MindSpore checkpoint of under a hundred bytes that
claims a 25000x10000 float32 tensor (1 GB once allocated), or, with no adapter beside it, a
checkpoint and a safetensors file whose headers claim far more than they hold. Never imports
MindSpore: the protobuf is written by hand (mindspore/train/checkpoint.proto)."""

import json
import os
import struct

OUT = os.environ["GRADER_OUTPUT_DIR"]
VARIANT = open("variant.txt").read().strip()  # adapter | full-model


def varint(n):
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        if not n:
            return out + bytes([byte])
        out += bytes([byte | 0x80])


def field(number, data):
    return varint(number << 3 | 2) + varint(len(data)) + data


def lying_ckpt(name):
    tensor = varint(1 << 3) + varint(25000) + varint(1 << 3) + varint(10000) + field(2, b"Float32") + field(3, b"\0" * 8)
    return field(1, field(1, name.encode()) + field(2, tensor))


if VARIANT == "adapter":
    folder = os.path.join(OUT, "ia3")
    os.makedirs(folder)
    config = {"peft_type": "IA3", "task_type": "SEQ_CLS", "target_modules": ["key", "value", "output.dense"]}
    json.dump(config, open(os.path.join(folder, "adapter_config.json"), "w"))
    name = "base_model.model.roberta.encoder.layer.0.attention.self.key.ia3_l.default.padding"[:62]
    open(os.path.join(folder, "adapter_model.ckpt"), "wb").write(lying_ckpt(name))
    print("checkpoint of", os.path.getsize(os.path.join(folder, "adapter_model.ckpt")), "bytes")
else:
    open(os.path.join(OUT, "model.ckpt"), "wb").write(lying_ckpt("classifier.dense.weight"))
    header = json.dumps({"w": {"dtype": "F32", "shape": [25000, 10000], "data_offsets": [0, 1000000000]}}).encode()
    open(os.path.join(OUT, "model.safetensors"), "wb").write(struct.pack("<Q", len(header)) + header + b"\0" * 8)
    open(os.path.join(OUT, "model-00001-of-00002.safetensors"), "wb").write(struct.pack("<Q", 1 << 62) + b"{}")
    print("full-model files written")
