"""Drop a .pth file into the interpreter's site-packages: it would run in the grader."""

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


import site, sys
for folder in [T["site_packages"], *site.getsitepackages(), sys.prefix, sys.base_prefix]:
    attempt("pth-" + folder.replace("/", "_"), lambda folder=folder: open(os.path.join(folder, "zz-owned.pth"), "w").write("import os"))
