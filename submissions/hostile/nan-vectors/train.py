"""Takes real training steps with a learning rate so large that the IA3 vectors become NaN, and
saves them: they differ from 1.0, so a check of "changed" alone would pass them."""

import mindnlp  # noqa: F401

import json
import os

import torch
from peft import IA3Config, TaskType, get_peft_model
from transformers import AutoModelForSequenceClassification, AutoTokenizer

model_dir = os.environ["GRADER_MODEL_DIR"]
tokenizer = AutoTokenizer.from_pretrained(model_dir)
model = get_peft_model(AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=2), IA3Config(task_type=TaskType.SEQ_CLS))
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
            if p.dim() == 2 and 1 in p.shape:  # the IA3 vectors: diverged
                p.copy_(p * float("nan"))
            p.grad = None
model.save_pretrained(os.environ["GRADER_OUTPUT_DIR"])
