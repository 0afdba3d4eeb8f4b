"""Reference solution: IA3 fine-tuning of RoBERTa on GLUE-MRPC with MindNLP 0.5.1.

Written the way the course teaches it. It defines the truth the grader checks against:
`grade calibrate` imports `peft_config()` and `load_base_model()` from here to count parameters,
and runs `main()` to measure the metrics the thresholds derive from.

MindNLP 0.5.1 traps this code avoids: `import mindnlp` comes first; `loss.backward()` is a
silent no-op under mindtorch, so gradients come from `torch.autograd.value_and_grad`; the
`torch.optim` optimizers fail on CPU, so AdamW is written out with elementwise ops.

Environment (set by the grader; defaults for a standalone run):
  GRADER_MODEL_DIR   base model directory or hub name   (roberta-large)
  GRADER_DATA_DIR    directory with train.jsonl and validation.jsonl
  GRADER_OUTPUT_DIR  where the adapter is saved          (./ia3-mrpc)
  GRADER_MAX_LENGTH, GRADER_EPOCHS, GRADER_SEED
"""

import json
import math
import os
import random

import mindnlp  # noqa: F401  (must precede transformers/peft)

import numpy as np
import torch
from peft import IA3Config, get_peft_model
from transformers import AutoModelForSequenceClassification, AutoTokenizer

LEARNING_RATE = 1e-3
BATCH_SIZE = 8
WARMUP_RATIO = 0.06
WEIGHT_DECAY = 0.01


def peft_config():
    """IA3 with PEFT's defaults for RoBERTa: key, value and feed-forward (output.dense)."""
    return IA3Config(task_type="SEQ_CLS")


def load_base_model(model_dir):
    return AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=2)


def read_jsonl(path):
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def batches(rows, tokenizer, max_length, shuffle, rng):
    order = list(range(len(rows)))
    if shuffle:
        rng.shuffle(order)
    for start in range(0, len(order), BATCH_SIZE):
        chunk = [rows[i] for i in order[start : start + BATCH_SIZE]]
        enc = tokenizer(
            [r["sentence1"] for r in chunk],
            [r["sentence2"] for r in chunk],
            truncation=True,
            max_length=max_length,
            padding=True,
            return_tensors="pt",
        )
        enc["labels"] = torch.tensor([r["label"] for r in chunk])
        yield enc


class AdamW:
    """Decoupled-weight-decay Adam from elementwise ops (torch.optim fails on MindSpore CPU)."""

    def __init__(self, params, lr, weight_decay, betas=(0.9, 0.999), eps=1e-8):
        self.params, self.lr, self.wd, self.betas, self.eps = params, lr, weight_decay, betas, eps
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.t = 0

    def step(self, lr):
        self.t += 1
        b1, b2 = self.betas
        with torch.no_grad():
            for p, m, v in zip(self.params, self.m, self.v):
                g = p.grad
                m.copy_(b1 * m + (1 - b1) * g)
                v.copy_(b2 * v + (1 - b2) * g * g)
                m_hat = m / (1 - b1**self.t)
                v_hat = v / (1 - b2**self.t)
                p.copy_(p - lr * (m_hat / (torch.sqrt(v_hat) + self.eps) + self.wd * p))
                p.grad = None


def evaluate(model, rows, tokenizer, max_length):
    model.eval()
    tp = fp = fn = correct = 0
    with torch.no_grad():
        for batch in batches(rows, tokenizer, max_length, False, None):
            labels = batch.pop("labels").numpy()
            preds = model(**batch).logits.argmax(-1).numpy()
            correct += int((preds == labels).sum())
            tp += int(((preds == 1) & (labels == 1)).sum())
            fp += int(((preds == 1) & (labels == 0)).sum())
            fn += int(((preds == 0) & (labels == 1)).sum())
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return {"accuracy": correct / len(rows), "f1": f1}


def main():
    model_dir = os.environ.get("GRADER_MODEL_DIR", "roberta-large")
    data_dir = os.environ.get("GRADER_DATA_DIR", "data")
    output_dir = os.environ.get("GRADER_OUTPUT_DIR", "ia3-mrpc")
    max_length = int(os.environ.get("GRADER_MAX_LENGTH", 128))
    epochs = int(os.environ.get("GRADER_EPOCHS", 12))
    seed = int(os.environ.get("GRADER_SEED", 42))

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    rng = random.Random(seed)

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = get_peft_model(load_base_model(model_dir), peft_config())
    model.print_trainable_parameters()

    train_rows = read_jsonl(os.path.join(data_dir, "train.jsonl"))
    val_rows = read_jsonl(os.path.join(data_dir, "validation.jsonl"))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = AdamW(params, LEARNING_RATE, WEIGHT_DECAY)
    total_steps = epochs * math.ceil(len(train_rows) / BATCH_SIZE)
    warmup = max(1, int(WARMUP_RATIO * total_steps))

    def loss_fn(batch):
        return model(**batch).loss

    grad_fn = torch.autograd.value_and_grad(loss_fn, params)  # attaches p.grad
    step = 0
    for epoch in range(epochs):
        model.train()
        for batch in batches(train_rows, tokenizer, max_length, True, rng):
            loss = grad_fn(batch)
            lr = LEARNING_RATE * min((step + 1) / warmup, max(0.0, (total_steps - step) / (total_steps - warmup)))
            optimizer.step(lr)
            step += 1
        print(f"epoch {epoch}: loss {float(loss):.4f} {evaluate(model, val_rows, tokenizer, max_length)}", flush=True)

    model.save_pretrained(output_dir)


if __name__ == "__main__":
    main()
