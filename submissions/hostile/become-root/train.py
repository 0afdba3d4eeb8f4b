"""Regain root: setuid, a setuid binary, raising limits."""

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


import resource, subprocess
attempt("setuid", lambda: os.setuid(0))
attempt("su", lambda: subprocess.run(["su", "-c", "id"], capture_output=True, timeout=5).stdout)
attempt("nproc", lambda: resource.setrlimit(resource.RLIMIT_NPROC, (10**6, 10**6)))
attempt("shadow", lambda: open("/etc/shadow", "rb").read())
attempt("chown-home", lambda: os.chown(os.path.expanduser("~"), 0, 0))
