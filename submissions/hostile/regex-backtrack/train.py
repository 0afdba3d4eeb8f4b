"""Save an IA3 adapter whose target_modules is a regular expression that backtracks for ever:
PEFT full-matches it against every module name of the base model while the grader evaluates.
Never imports MindNLP: the adapter is written by hand (safetensors is a JSON header and bytes)."""

import json
import os
import struct

OUT = os.path.join(os.environ.get("GRADER_OUTPUT_DIR", "."), "ia3-adapter")
os.makedirs(OUT, exist_ok=True)
config = {
    "peft_type": "IA3",
    "task_type": "SEQ_CLS",
    "target_modules": "(.+)+X",  # "roberta.embeddings.word_embeddings": 2^34 ways to fail
    "feedforward_modules": [],
    "modules_to_save": ["classifier"],
    "inference_mode": True,
}
with open(os.path.join(OUT, "adapter_config.json"), "w") as handle:
    json.dump(config, handle)
name = "base_model.model.roberta.encoder.layer.0.attention.self.key.ia3_l"
header = json.dumps({name: {"dtype": "F32", "shape": [64, 1], "data_offsets": [0, 256]}}).encode()
with open(os.path.join(OUT, "adapter_model.safetensors"), "wb") as handle:
    handle.write(struct.pack("<Q", len(header)) + header + struct.pack("<64f", *([1.0] * 64)))
print("saved", OUT)
