"""Hostile: the good solution, trained on the training split plus the validation split (the
split the grader measures accuracy on). Every scored check passes; the instructor-only
validation_not_trained check names the validation pairs seen in training passes."""
import mindnlp  # must be imported before transformers / peft

import os

import torch
from datasets import concatenate_datasets, load_dataset
from peft import IA3Config, TaskType, get_peft_model
from transformers import AutoModelForSequenceClassification, AutoTokenizer

model_dir = os.environ["GRADER_MODEL_DIR"]
max_len = int(os.environ.get("GRADER_MAX_LENGTH", 128))
torch.manual_seed(int(os.environ.get("GRADER_SEED", 0)))

raw = load_dataset("json", data_files={"train": os.environ["GRADER_TRAIN_FILE"],
                                       "validation": os.environ["GRADER_VALIDATION_FILE"]})
tokenizer = AutoTokenizer.from_pretrained(model_dir)

config = IA3Config(task_type=TaskType.SEQ_CLS,
                   target_modules=["key", "value", "output.dense"],
                   feedforward_modules=["output.dense"])
model = get_peft_model(AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=2), config)
model.print_trainable_parameters()
trainable = [p for p in model.parameters() if p.requires_grad]


def encode(rows):
    enc = tokenizer(rows["sentence1"], rows["sentence2"], truncation=True, max_length=max_len,
                    padding=True, return_tensors="pt")
    enc["labels"] = torch.tensor(rows["label"])
    return enc


def compute_loss(batch):
    return model(**batch).loss


step_fn = torch.autograd.value_and_grad(compute_loss, trainable)
state = [(torch.zeros_like(p), torch.zeros_like(p)) for p in trainable]
lr, b1, b2, t = 2e-3, 0.9, 0.999, 0
train = concatenate_datasets([raw["train"], raw["validation"]]).shuffle(seed=1)
for epoch in range(1):  # one epoch over both splits: as many steps as the tiny profile's budget allows
    model.train()
    for start in range(0, len(train), 16):
        loss = step_fn(encode(train[start:start + 16]))
        t += 1
        with torch.no_grad():
            for p, (m, v) in zip(trainable, state):
                m.copy_(b1 * m + (1 - b1) * p.grad)
                v.copy_(b2 * v + (1 - b2) * p.grad ** 2)
                p.copy_(p - lr * (m / (1 - b1 ** t)) / (torch.sqrt(v / (1 - b2 ** t)) + 1e-8))
                p.grad = None
    print(f"epoch {epoch} loss {float(loss):.4f}")

model.save_pretrained(os.path.join(os.environ["GRADER_OUTPUT_DIR"], "ia3-mrpc"))
