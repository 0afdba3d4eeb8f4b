"""The adapter as MindNLP 0.4 saved it: adapter_config.json beside adapter_model.ckpt, a
MindSpore checkpoint of the IA3 vectors and the classifier head under PEFT's tensor names.
(MindNLP 0.4 itself no longer installs; the training runs on 0.5 and the checkpoint is written
the way 0.4's save_pretrained wrote it, with mindspore.save_checkpoint. After `import mindnlp`
that function writes dtype names MindSpore's own loader rejects, so a plain MindSpore process
writes the file.)"""
import mindnlp

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from peft import IA3Config, get_peft_model, get_peft_model_state_dict
from transformers import AutoModelForSequenceClassification, AutoTokenizer

model_dir = os.environ["GRADER_MODEL_DIR"]
out = os.environ["GRADER_OUTPUT_DIR"]
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
    batch["labels"] = torch.tensor([r["label"] for r in chunk])
    grad_fn(batch)
    with torch.no_grad():
        for p in params:
            p.copy_(p - 0.05 * p.grad)
            p.grad = None

model.peft_config["default"].save_pretrained(out)  # adapter_config.json
arrays = os.path.join(tempfile.mkdtemp(), "adapter.npz")
np.savez(arrays, **{name: t.numpy() for name, t in get_peft_model_state_dict(model).items()})
subprocess.run([sys.executable, "-c", (
    "import sys, numpy, mindspore\n"
    "found = numpy.load(sys.argv[1])\n"
    "mindspore.save_checkpoint([{'name': k, 'data': mindspore.Tensor(found[k])} for k in found.files], sys.argv[2])"
), arrays, os.path.join(out, "adapter_model.ckpt")], check=True)
