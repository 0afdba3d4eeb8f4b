"""Trains IA3 on labels read from the wrong field (every pair labelled "equivalent") with a
large learning rate: the classifier learns to answer 1 whatever the input."""
import mindnlp

import json
import os

import torch
from peft import IA3Config, get_peft_model
from transformers import AutoModelForSequenceClassification, AutoTokenizer

model_dir = os.environ["GRADER_MODEL_DIR"]
tokenizer = AutoTokenizer.from_pretrained(model_dir)
model = get_peft_model(AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=2),
                       IA3Config(task_type="SEQ_CLS"))
params = [p for p in model.parameters() if p.requires_grad]
rows = [json.loads(line) for line in open(os.environ["GRADER_TRAIN_FILE"])]
grad_fn = torch.autograd.value_and_grad(lambda batch: model(**batch).loss, params)

model.train()
for start in range(0, len(rows), 16):
    chunk = rows[start:start + 16]
    batch = tokenizer([r["sentence1"] for r in chunk], [r["sentence2"] for r in chunk],
                      truncation=True, padding=True, return_tensors="pt")
    batch["labels"] = torch.tensor([1] * len(chunk))  # meant: [r["label"] for r in chunk]
    grad_fn(batch)
    with torch.no_grad():
        for p in params:
            p.copy_(p - 0.5 * p.grad)
            p.grad = None

model.save_pretrained(os.environ["GRADER_OUTPUT_DIR"])
