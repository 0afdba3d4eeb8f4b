"""Saves an adapter after each epoch into $GRADER_OUTPUT_DIR and the best one beside the script,
as students often do: the run leaves three adapters and the grader grades one. The reports must
name which, the others, and the rule that chose. (Nothing trains here: the case is the choice.)"""

import json
import os
import time

CONFIG = {"peft_type": "IA3", "task_type": "SEQ_CLS", "target_modules": ["key", "value", "output.dense"],
          "feedforward_modules": ["output.dense"], "base_model_name_or_path": "roberta-large"}  # fmt: skip


def save(folder, minutes_ago):
    """The adapter's config, dated as when that epoch ended."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "adapter_config.json")
    with open(path, "w") as handle:
        json.dump(CONFIG, handle)
    when = time.time() - 60 * minutes_ago
    os.utime(path, (when, when))


out = os.environ["GRADER_OUTPUT_DIR"]
save("best-adapter", 3)  # the best epoch's, beside the script
save(os.path.join(out, "epoch-1"), 2)
save(os.path.join(out, "epoch-2"), 1)  # the last epoch: the newest in $GRADER_OUTPUT_DIR
print("saved 3 adapters")
