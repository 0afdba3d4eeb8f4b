"""Graded without the sandbox, in a container made for this one submission: find the grader from
/proc (its command line names the output folder), then try to change the grader's installed
package, write the results, read the labelled test split, and leave a process behind that keeps
rewriting the results once the grader has written them."""

import os
import time
from pathlib import Path


def attempt(what, action):
    try:
        action()
        print(what, "DONE")
    except Exception as exc:
        print(what, "refused:", type(exc).__name__, exc)


def grader_command_lines():
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"grader.cli" in b" ".join(argv) and b"--out" in argv:
            yield [a.decode(errors="replace") for a in argv]


inject = next(p for p in os.environ.get("PYTHONPATH", "").split(":") if p.endswith("inject"))
package = Path(inject).parents[1]  # grader/, as the run sees it
attempt("new file in the grader's package", lambda: (package / "planted.py").write_text("PLANTED = True\n"))
attempt("append to the grader's pipeline", lambda: open(package / "pipeline.py", "a").write("\nPLANTED = True\n"))
attempt("replace the run's hooks", lambda: (Path(inject) / "sitecustomize.py").write_text("PLANTED = True\n"))

for argv in grader_command_lines():
    out = Path(argv[argv.index("--out") + 1])
    root = out.parent
    fake = '{"score": 75, "output": "planted"}'
    attempt(f"write {out}/results.json", lambda: (out / "results.json").write_text(fake))
    attempt(f"write {root}/results/results.json", lambda: (root / "results" / "results.json").write_text(fake))
    attempt(f"new file in {root}/results", lambda: (root / "results" / "planted.txt").write_text("planted"))
    attempt("append to run_autograder", lambda: open(root / "run_autograder", "a").write("\necho planted\n"))
    test = root / "source" / "mrpc" / "test.jsonl"
    attempt(f"read {test}", lambda: print("LABELLED", open(test).readline().strip()))
    targets = [out / "results.json", root / "results" / "results.json"]
    if os.fork() == 0:  # a daemon in a session of its own, that outlives this script if it can
        os.setsid()
        if os.fork() == 0:
            for _ in range(600):
                for path in targets:
                    try:
                        path.write_text('{"score": 75}')
                    except OSError:
                        pass
                time.sleep(0.1)
        os._exit(0)
    print("daemon started")
