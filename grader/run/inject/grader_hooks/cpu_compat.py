"""Supply what MindNLP 0.5.1's mindtorch lacks on the CPU only, so a correct submission does not
fail a CPU self-check for a gap the course's NPUs do not have.

Each supplement is the documented operation composed from element-wise operations that mindtorch
has on the CPU, and the NPU back end has the operation itself:
- `addcdiv` (every `torch.optim` Adam/AdamW step): input + value * tensor1 / tensor2;
- `linalg_vector_norm` over all dimensions (`dim=None`, as `clip_grad_norm_` and the Trainer's
  gradient clipping ask): the CPU kernel needs the dimensions named, so they are named.
Gaps that fail on the NPUs too (`optimizer.zero_grad()`'s missing profiler, `SGD`'s raw_sgd) are
not supplied: the student must fix them, and the grader's diagnosis says how.

Active only when DEVICE_TARGET is CPU. The first use of each supplement leaves a marker line on
stderr (MARKER), from which the report says that the CPU run relied on it. Standard library
only; it attaches when the student's code (through MindNLP) first imports mindtorch's CPU back end.
"""

import os
import sys

from .importhooks import when_imported

MARKER = "[grader] cpu compatibility:"
CPU_BACKEND = "mindtorch._apis.cpu"


def install():
    if os.environ.get("DEVICE_TARGET", "CPU").upper() == "CPU":
        when_imported(CPU_BACKEND, _supply)


def _announce_once(name, why, function):
    used = []

    def wrapper(*args, **kwargs):
        if not used:
            used.append(True)
            print(f"{MARKER} {name} supplied ({why})", file=sys.stderr, flush=True)
        return function(*args, **kwargs)

    return wrapper


def _supply(cpu):
    if not hasattr(cpu, "addcdiv"):

        def addcdiv(input, tensor1, tensor2, value=1.0):
            return cpu.add(cpu.mul(cpu.div(tensor1, tensor2), value), input)

        cpu.addcdiv = _announce_once("addcdiv", "torch.optim Adam/AdamW steps", addcdiv)
    norm = getattr(cpu, "linalg_vector_norm", None)
    if norm is not None:
        all_dims = _announce_once("linalg_vector_norm over all dimensions", "gradient clipping, clip_grad_norm_", norm)

        def linalg_vector_norm(x, ord=2, dim=None, keepdim=False, dtype=None):
            if dim is None and x.ndim > 0:
                return all_dims(x, ord, tuple(range(x.ndim)), keepdim, dtype)
            return norm(x, ord, dim, keepdim, dtype)

        cpu.linalg_vector_norm = linalg_vector_norm
