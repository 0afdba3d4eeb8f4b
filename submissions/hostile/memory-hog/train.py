"""Allocate far more memory than allowed."""

import json
import os

T = json.load(open("targets.json"))
OUT = os.environ.get("GRADER_OUTPUT_DIR", ".")


def keep(name, data):
    with open(os.path.join(OUT, name), "wb") as handle:
        handle.write(data if isinstance(data, bytes) else str(data).encode())


def attempt(name, action):
    try:
        keep(name, action() or b"done")
        print(name, "did it")
    except Exception as exc:
        print(name, "refused:", type(exc).__name__, exc)


blocks = []
try:
    while True:
        blocks.append(bytearray(256 * 1024 * 1024))
except MemoryError:
    print("stopped at", len(blocks) / 4, "GiB")
