"""Right verdict, wrong explanation: training with value_and_grad, which works, but the adapter
is saved before the loop. The reason given must come from the record (saved before any step),
not from a guess about loss.backward()."""
import mindnlp  # must be imported before transformers / peft

import json
import os

import torch
from peft import IA3Config, TaskType, get_peft_model
from transformers import AutoModelForSequenceClassification, AutoTokenizer

model_dir = os.environ["GRADER_MODEL_DIR"]
tokenizer = AutoTokenizer.from_pretrained(model_dir)
rows = [json.loads(line) for line in open(os.environ["GRADER_TRAIN_FILE"])][:64]
config = IA3Config(task_type=TaskType.SEQ_CLS, target_modules=["key", "value", "output.dense"],
                   feedforward_modules=["output.dense"])
model = get_peft_model(AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=2), config)
model.save_pretrained(os.path.join(os.environ["GRADER_OUTPUT_DIR"], "ia3-mrpc"))  # too early

trainable = [p for p in model.parameters() if p.requires_grad]
step = torch.autograd.value_and_grad(lambda b: model(**b).loss, trainable)
model.train()
for start in range(0, len(rows), 16):
    chunk = rows[start:start + 16]
    batch = tokenizer([r["sentence1"] for r in chunk], [r["sentence2"] for r in chunk],
                      truncation=True, padding=True, max_length=64, return_tensors="pt")
    batch["labels"] = torch.tensor([r["label"] for r in chunk])
    loss = step(batch)
    with torch.no_grad():
        for p in trainable:
            p.copy_(p - 1e-2 * p.grad)
            p.grad = None
print("loss", float(loss))
