"""Flood the probe's channel: lines the probe never writes (a string seq, JSON nested 100,000
deep, wrong types, a 2 MB line), then 3.6 MB of `{}` lines and many connections. Never imports
MindNLP, so it grades in seconds."""

import json
import os
import socket

PATH = os.environ["GRADER_PROBE_SOCKET"]


def connection():
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(PATH)
    return sock


def send(sock, data):
    try:
        sock.sendall(data)
    except OSError as exc:  # the grader stopped storing this connection
        print("cut off:", type(exc).__name__)


me = os.getpid()
odd = connection()
lines = [
    {"event": "start", "pid": me, "seq": "1", "t": 0},
    {"event": "created", "pid": me, "seq": 2, "t": 1, "model": 1, "class": "x" * 10_000, "config": [], "parameters": "all"},
    {
        "event": "created",
        "pid": me,
        "seq": 3,
        "t": 1,
        "model": 1,
        "class": "peft.PeftModel",
        "config": {},
        "parameters": [["w", "big", "f", 1, 2]],
    },
    {"event": "loss", "pid": me, "seq": 4, "t": 2, "model": 1, "loss": {"a": 1}},
    {"event": "end", "pid": me, "seq": 5, "t": 3, "reason": ["exit"] * 1000},
    {"event": "snapshot", "pid": True, "seq": 6, "t": 4},
]
send(odd, b"".join(json.dumps(line).encode() + b"\n" for line in lines))
send(odd, b"[" * 100_000 + b"]" * 100_000 + b"\n")
send(odd, b'{"event": "start", "pid": 1, "seq": 1' + b"0" * 5000 + b', "t": 0}\n')
odd.close()

long = connection()
send(long, b'{"x": "' + b"a" * (2 * 1024**2) + b'"}\n')
long.close()

flood = connection()
for _ in range(12):
    send(flood, b"{}\n" * 100_000)
flood.close()

for _ in range(50):
    connection().close()
print("flooded")
