"""Plant links in the output for the grader to follow on the host: an adapter whose config and
weights are links to a secret file and to the labelled test split, and an adapter folder that is a
link to a host folder. targets.json (written beside this script) names the host paths."""

import json
import os

T = json.load(open("targets.json"))
OUT = os.environ["GRADER_OUTPUT_DIR"]

os.makedirs(os.path.join(OUT, "ia3"), exist_ok=True)
os.symlink(T["secret"], os.path.join(OUT, "ia3", "adapter_config.json"))
os.symlink(T["labelled"], os.path.join(OUT, "ia3", "adapter_model.safetensors"))
os.symlink(T["host_adapter"], os.path.join(OUT, "linked-adapter"))
os.symlink(T["secret"], os.path.join(OUT, "model.safetensors"))
print("links planted")
