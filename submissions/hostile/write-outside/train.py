"""Write files everywhere outside the private copy."""

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


for folder in ["/", "/etc", "/usr", "/usr/local", "/opt", "/opt/grader", "/opt/grader/control", "/home", "/work", "/root",
               T["evidence"], os.path.dirname(T["labelled"]), os.path.dirname(T["model"])]:
    attempt("w-" + folder.replace("/", "_"), lambda folder=folder: open(os.path.join(folder, "owned.txt"), "w").write("x"))
attempt("results", lambda: open(os.path.join(T["evidence"], "..", "results.json"), "w").write('{"score": 75}'))
