"""An adapter_config.json the grader's JSON reader chokes on: nested 100,000 deep, or holding a
5,000-digit integer (past Python's int max str digits)."""

import os

OUT = os.environ["GRADER_OUTPUT_DIR"]
VARIANT = open("variant.txt").read().strip()  # deep | digits
folder = os.path.join(OUT, "ia3")
os.makedirs(folder)
if VARIANT == "deep":
    text = '{"peft_type": "IA3", "target_modules": ' + "[" * 100_000 + "]" * 100_000 + "}"
else:
    text = '{"peft_type": "IA3", "r": ' + "7" * 5000 + "}"
open(os.path.join(folder, "adapter_config.json"), "w").write(text)
open(os.path.join(folder, "adapter_model.safetensors"), "wb").write(b"\x08" + b"\0" * 7 + b"{}      ")
print("config of", len(text), "characters")
