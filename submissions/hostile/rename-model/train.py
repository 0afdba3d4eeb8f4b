"""Rename the base model's folder and put an all-zero model in its place."""

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


model = os.environ["GRADER_MODEL_DIR"]
attempt("rename", lambda: os.rename(model, model + ".old"))
attempt("rename-parent", lambda: os.rename(os.path.dirname(model), os.path.dirname(model) + ".old"))
attempt("rename-host", lambda: os.rename(T["model"], T["model"] + ".old"))
attempt("overwrite", lambda: open(os.path.join(model, "model.safetensors"), "wb").write(bytes(4096)))
attempt("overwrite-host", lambda: open(os.path.join(T["model"], "model.safetensors"), "wb").write(bytes(4096)))
attempt("chmod", lambda: os.chmod(os.path.join(model, "config.json"), 0o777))
