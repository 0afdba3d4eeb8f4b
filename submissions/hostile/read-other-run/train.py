"""Read another student's private copy in /tmp."""

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


attempt("other", lambda: open(T["other_run"], "rb").read())
attempt("tmp-listing", lambda: "\n".join(os.listdir("/tmp")))
for name in os.listdir("/tmp"):
    attempt("tmp-" + name, lambda name=name: open(os.path.join("/tmp", name, "work", "notes.txt"), "rb").read())
