"""Raises during training: the batch's labels are given as strings."""
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
rows = [json.loads(line) for line in open(os.environ["GRADER_TRAIN_FILE"])]


def training_step(chunk):
    labels = [str(r["label"]) for r in chunk]
    if not all(isinstance(label, int) for label in labels):
        raise ValueError(f"labels must be integers, got {labels[:3]}")


training_step(rows[:16])
model.save_pretrained(os.environ["GRADER_OUTPUT_DIR"])
