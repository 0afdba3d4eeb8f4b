"""Base fine-tuned before IA3 was attached: every base weight trains a few steps with
value_and_grad, and only then is the model wrapped with IA3 and trained as the homework asks.
Every base tensor is identical from the PEFT model's creation on; none is the course model's."""
import mindnlp  # must be imported before transformers / peft

import json
import os

import torch
from peft import IA3Config, TaskType, get_peft_model
from transformers import AutoModelForSequenceClassification, AutoTokenizer

model_dir = os.environ["GRADER_MODEL_DIR"]
tokenizer = AutoTokenizer.from_pretrained(model_dir)
rows = [json.loads(line) for line in open(os.environ["GRADER_TRAIN_FILE"])][:64]


def batches():
    for start in range(0, len(rows), 16):
        chunk = rows[start:start + 16]
        batch = tokenizer([r["sentence1"] for r in chunk], [r["sentence2"] for r in chunk],
                          truncation=True, padding=True, max_length=64, return_tensors="pt")
        batch["labels"] = torch.tensor([r["label"] for r in chunk])
        yield batch


def train(model, params, lr):
    step = torch.autograd.value_and_grad(lambda b: model(**b).loss, params)
    model.train()
    for batch in batches():
        loss = step(batch)
        with torch.no_grad():
            for p in params:
                p.copy_(p - lr * p.grad)
                p.grad = None
    print("loss", float(loss))


base = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=2)
train(base, [p for p in base.parameters()], 1e-2)  # full fine-tuning, outside PEFT

config = IA3Config(task_type=TaskType.SEQ_CLS, target_modules=["key", "value", "output.dense"],
                   feedforward_modules=["output.dense"])
model = get_peft_model(base, config)
train(model, [p for p in model.parameters() if p.requires_grad], 1e-2)
model.save_pretrained(os.path.join(os.environ["GRADER_OUTPUT_DIR"], "ia3-mrpc"))
