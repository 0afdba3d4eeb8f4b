"""Text a CI log or a report reader would act on, put wherever the grader quotes a run: workflow
commands (`::error::`, `::add-mask::`, `::stop-commands::`, the legacy `##[...]`) and a forged
`RUNNER=` result line after line breaks, a right-to-left override and an invisible tag
character, in the adapter's config, a tensor's name, what it prints and its exception. The
tests also hand it in under the file name `::error::pwned.py`."""

import json
import os
import struct

FORGED = (
    "\n::add-mask::hidden\n::stop-commands::tok\nRUNNER=eyJmb3JnZWQiOnRydWV9\n  ##[error]legacy\n::error::forged"
    "\nevil\u202egnp.py\U000e0041"
)
adapter = os.path.join(os.environ["GRADER_OUTPUT_DIR"], "ia3-mrpc")
os.makedirs(adapter, exist_ok=True)
with open(os.path.join(adapter, "adapter_config.json"), "w") as handle:
    json.dump({"peft_type": "LORA" + FORGED, "task_type": "SEQ_CLS" + FORGED, "target_modules": ["key" + FORGED]}, handle)
header = json.dumps({"x" + FORGED: {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
with open(os.path.join(adapter, "adapter_model.safetensors"), "wb") as handle:
    handle.write(struct.pack("<Q", len(header)) + header + struct.pack("<f", 1.0))
print("::error::printed by the run" + FORGED)
raise RuntimeError("boom" + FORGED)
