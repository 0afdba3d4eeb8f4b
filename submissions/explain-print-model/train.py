"""Prints the PEFT model to show its IA3 layers, as course material does with PyTorch. Under
MindNLP 0.5.1 printing any model that holds PEFT layers fails (mindtorch lacks a function the
repr calls), so the run stops there, before training and before any save."""

import mindnlp  # noqa: F401

import os

from peft import IA3Config, TaskType, get_peft_model
from transformers import AutoModelForSequenceClassification

base = AutoModelForSequenceClassification.from_pretrained(os.environ["GRADER_MODEL_DIR"], num_labels=2)
model = get_peft_model(base, IA3Config(task_type=TaskType.SEQ_CLS))
model.print_trainable_parameters()
print(model)
