"""Kernel keys, BPF and performance counters."""

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


import ctypes, platform
libc = ctypes.CDLL(None, use_errno=True)
numbers = {"x86_64": {"keyctl": 250, "bpf": 321, "perf_event_open": 298, "add_key": 248},
           "aarch64": {"keyctl": 219, "bpf": 280, "perf_event_open": 241, "add_key": 217}}[platform.machine()]
for name, number in numbers.items():
    print(name, libc.syscall(number, 0, 0, 0, 0, 0), ctypes.get_errno())
attempt("session-keyring", lambda: open("/proc/keys", "rb").read())
