"""Read the grader's environment and command line through /proc."""

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


for pid in [T["grader_pid"], 1, 2, os.getppid()]:
    attempt("environ-%d" % pid, lambda pid=pid: open("/proc/%d/environ" % pid, "rb").read())
    attempt("cmdline-%d" % pid, lambda pid=pid: open("/proc/%d/cmdline" % pid, "rb").read())
attempt("pids", lambda: " ".join(p for p in os.listdir("/proc") if p.isdigit()))
for pid in (p for p in os.listdir("/proc") if p.isdigit()):
    attempt("all-" + pid, lambda pid=pid: open("/proc/%s/environ" % pid, "rb").read())
