"""Connect to a filesystem Unix socket of the grader's."""

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


import socket
def connect():
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(T["unix_socket"])
    sock.send(b"hello")
attempt("socket", connect)
def abstract():
    sock = socket.socket(socket.AF_UNIX)
    sock.connect("\0/tmp/.X11-unix/X0")
attempt("abstract", abstract)
