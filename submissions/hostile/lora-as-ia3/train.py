"""Trains LoRA, then rewrites the saved adapter_config.json to claim IA3 with the reference's
module lists: the config says IA3, the tensors are lora_A and lora_B."""

import mindnlp  # noqa: F401

import json
import os

import torch
from peft import LoraConfig, TaskType, get_peft_model
from transformers import AutoModelForSequenceClassification, AutoTokenizer

model_dir = os.environ["GRADER_MODEL_DIR"]
out = os.environ["GRADER_OUTPUT_DIR"]
tokenizer = AutoTokenizer.from_pretrained(model_dir)
model = get_peft_model(
    AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=2),
    LoraConfig(task_type=TaskType.SEQ_CLS, r=2, target_modules=["key", "value"]),
)
params = [p for p in model.parameters() if p.requires_grad]
rows = [json.loads(line) for line in open(os.environ["GRADER_TRAIN_FILE"])][:32]
grad_fn = torch.autograd.value_and_grad(lambda batch: model(**batch).loss, params)
model.train()
for start in range(0, len(rows), 16):
    chunk = rows[start : start + 16]
    batch = tokenizer([r["sentence1"] for r in chunk], [r["sentence2"] for r in chunk], truncation=True, padding=True, return_tensors="pt")
    batch["labels"] = torch.tensor([r["label"] for r in chunk])
    grad_fn(batch)
    with torch.no_grad():
        for p in params:
            p.copy_(p - 0.05 * p.grad)
            p.grad = None
model.save_pretrained(out)
with open(os.path.join(out, "adapter_config.json")) as handle:
    config = json.load(handle)
config.update(peft_type="IA3", target_modules=["key", "value", "output.dense"], feedforward_modules=["output.dense"])
with open(os.path.join(out, "adapter_config.json"), "w") as handle:
    json.dump(config, handle)
