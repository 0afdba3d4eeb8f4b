"""Look for a labelled copy of the test split anywhere on the machine and keep it."""

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


import glob
attempt("known", lambda: open(T["labelled"], "rb").read())
for pattern in ["/tmp/**/test.jsonl", "/work/**/test.jsonl", "/root/**/test.jsonl", "/home/**/test.jsonl", "/**/someone-elses-folder/*"]:
    for path in glob.glob(pattern, recursive=True)[:50]:
        attempt("found-" + path.replace("/", "_"), lambda path=path: open(path, "rb").read())
