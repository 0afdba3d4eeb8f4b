"""Write until the disk is full, in its copy, /tmp and /dev/shm."""

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


block = b"x" * (1 << 20)
for folder in [".", "/tmp", "/dev/shm", os.path.expanduser("~")]:
    for i in range(100000):
        try:
            with open(os.path.join(folder, "fill-%d" % i), "wb") as handle:
                handle.write(block * 8)
        except OSError as exc:
            print(folder, "stopped:", exc)
            break
