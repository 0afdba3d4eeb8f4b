"""Reach the network, and the grader's own TCP port on the host's loopback."""

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
for address in [("1.1.1.1", 53), ("8.8.8.8", 443), ("127.0.0.1", T["tcp_port"])]:
    attempt("tcp-%s" % (address,), lambda address=address: socket.create_connection(address, timeout=2).send(b"hello") and b"sent")
