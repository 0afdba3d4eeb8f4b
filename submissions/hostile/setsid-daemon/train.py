"""Start a daemon in a session of its own that outlives the run and writes later."""

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


import subprocess, sys
code = "import time, os\nfor i in range(600):\n    time.sleep(0.1)\n    try: open(%r, 'a').write('late')\n    except OSError: pass\n" % T["results"]
subprocess.Popen([sys.executable, "-c", code], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print("parent leaves")
