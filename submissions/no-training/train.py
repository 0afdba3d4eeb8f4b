"""A PyTorch-style loop: under MindNLP 0.5 `loss.backward()` computes no gradients, so this
runs without error and trains nothing. (zero_grad() fails in mindtorch, so grads are reset by hand.)"""
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
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
rows = [json.loads(line) for line in open(os.environ["GRADER_TRAIN_FILE"])]

model.train()
for start in range(0, len(rows), 16):
    chunk = rows[start:start + 16]
    batch = tokenizer([r["sentence1"] for r in chunk], [r["sentence2"] for r in chunk],
                      truncation=True, padding=True, return_tensors="pt")
    outputs = model(**batch, labels=torch.tensor([r["label"] for r in chunk]))
    outputs.loss.backward()
    optimizer.step()
    for p in model.parameters():
        p.grad = None
    print("loss", float(outputs.loss))

model.save_pretrained(os.environ["GRADER_OUTPUT_DIR"])
