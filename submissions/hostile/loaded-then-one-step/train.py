"""Trained elsewhere, one step here: a classmate's trained adapter (the test puts one in
`classmate-adapter/`) is loaded with PeftModel.from_pretrained, takes one step at lr 1e-6 and
is saved. The saved vectors are far from 1.0, but this run moved them by about 1e-6."""
import mindnlp  # must be imported before transformers / peft

import os

import torch
from peft import PeftModel
from transformers import AutoModelForSequenceClassification, AutoTokenizer

model_dir = os.environ["GRADER_MODEL_DIR"]
tokenizer = AutoTokenizer.from_pretrained(model_dir)
base = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=2)
model = PeftModel.from_pretrained(base, "classmate-adapter", is_trainable=True)
trainable = [p for p in model.parameters() if p.requires_grad]

batch = tokenizer(["The cat sat."] * 4, ["A cat was sitting."] * 4, return_tensors="pt", padding=True)
batch["labels"] = torch.tensor([1, 0, 1, 0])
step = torch.autograd.value_and_grad(lambda b: model(**b).loss, trainable)
model.train()
loss = step(batch)
with torch.no_grad():
    for p in trainable:
        p.copy_(p - 1e-6 * torch.sign(p.grad))
        p.grad = None
print("loss", float(loss))
model.save_pretrained(os.path.join(os.environ["GRADER_OUTPUT_DIR"], "ia3-mrpc"))
