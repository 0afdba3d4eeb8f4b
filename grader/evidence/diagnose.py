"""Explain a failed run in a line or two a student can act on, from its stderr, the notebook
record and the run record. Each rule recognises one known cause; unknown failures get none."""

from __future__ import annotations

import re

from grader.run.error_text import SECTION_TITLE, said
from grader.run.inject.grader_hooks.cpu_compat import MARKER as CPU_COMPAT_MARKER
from grader.run.inject.grader_hooks.importorder import MARKER

# Modules of the MindNLP 0.4 API that 0.5 no longer has (mindnlp.dataset.BaseMapFunction is still there).
MINDNLP_04_MODULES = ("mindnlp.core", "mindnlp.common", "mindnlp.engine", "mindnlp._legacy", "mindnlp.abc", "mindnlp.modules")
MINDNLP_04 = re.compile(
    rf"No module named '((?:{'|'.join(map(re.escape, MINDNLP_04_MODULES))})[\w.]*)'"
    r"|cannot import name '(\w+)' from 'mindnlp[\w.]*'"
)
OOM = re.compile(r"MemoryError|[Oo]ut of memory|\bOOM\b|std::bad_alloc|Cannot allocate memory|Malloc (?:device )?memory failed")
OFFLINE = re.compile(
    r"OfflineModeIsEnabled|couldn't connect to '?https?://|ConnectionError|Network is unreachable"
    r"|Temporary failure in name resolution|Failed to resolve"
)
# Gaps of MindNLP 0.5.1 on mindtorch that course code runs into (docs: the MindNLP findings), each
# with what the student can do; the course's NPUs may not have them, a CPU self-check does.
MINDNLP_05_TRAPS = (
    (
        re.compile(r"has no attribute 'profiler'"),
        "optimizer.zero_grad() needs torch.autograd.profiler, which MindNLP 0.5.1 lacks: call model.zero_grad() "
        "or set p.grad = None for each trainable parameter",
    ),
    (
        re.compile(r"No implementation for function: (?:addcdiv|raw_sgd|raw_adam\w*) on cpu"),
        "torch.optim optimizers do not run on the CPU under MindNLP 0.5.1: write the update step by hand over the "
        "gradients of torch.autograd.value_and_grad (as reference/ia3_mrpc.py does), or grade on the course's NPUs",
    ),
    (
        re.compile(r"got to:\s*GPU|device target:\s*CPU|Torch not compiled with CUDA"),
        "the code moves the model or tensors to a GPU ('cuda') on a run without one: leave them on the device "
        "MindNLP chose (it reads DEVICE_TARGET), or use the device the grader gives",
    ),
    (
        re.compile(r"_get_privateuse1_backend_name"),
        "showing a model that holds PEFT layers fails under MindNLP 0.5.1 however it is shown: print(model), repr, str "
        "and a notebook cell's last expression all build the same text, which mindtorch cannot (it lacks "
        "_get_privateuse1_backend_name): do not print the model; end such a cell with `;` or an assignment, and show "
        "what was built with model.print_trainable_parameters() or print(model.peft_config)",
    ),
    (
        re.compile(r"Tensor must have device|- Dataset Pipeline Error Message:"),
        "mindnlp.dataset (MindSpore) tensors were passed to Hugging Face code that expects mindtorch tensors: build "
        "the batches with the Hugging Face tokenizer and datasets, or convert with torch.tensor(...)",
    ),
)
# A data file the code expected beside it (GLUE's ./data/mrpc/train.tsv), as Python, pandas and datasets report it.
MISSING_FILE = re.compile(r"(?:No such file or directory|Unable to find|does not exist):?\s*['\"]?(?P<path>[^'\"\s]+)")
DATA_FILE = re.compile(r"\.(?:tsv|csv|jsonl|parquet|arrow|txt)$", re.IGNORECASE)  # GLUE's, MSR's and converted copies: not configs
UPLOAD = re.compile(r"\bpush_to_hub\b|\bupload_(?:file|folder|large_folder)\b|\bcreate_(?:repo|commit)\b|/api/repos/create|\blogin\(")
CPU_COMPAT_USED = re.compile(re.escape(CPU_COMPAT_MARKER) + r" (.+?) supplied \((.+?)\)")
# Error text: a Python exception line, a MindSpore log line ([ERROR] MODULE(pid,...):time [file:line] Function] message);
# run/error_text.py leaves out the separators and the C++ call stack of MindSpore's multi-line messages.
EXCEPTION_LINE = re.compile(r"^(?:\w+\.)*\w*(?:Error|Exception|Interrupt|Exit)\b(?::\s*(.*))?$")
MINDSPORE_LOG = re.compile(r"^\[(?:ERROR|CRITICAL)\] \S+?\(.*?\):\S+ \[[^\]]*\] \w+\] (.+)$")
# What MindSpore's asynchronous launch queue puts before an operator's own message when it logs it;
# which of its threads logs last depends on timing.
ASYNC_QUEUE_PREFIX = re.compile(r"^(?:WorkerJoin failed|Check exception before process exit): ")
# What course images (ModelArts MindSpore images, the course's own) carry beside MindSpore: a run that
# lacks one of these lacks it because of the interpreter it was given, not because of the student's code.
COURSE_IMAGE_MODULES = {
    "matplotlib": "matplotlib",
    "pandas": "pandas",
    "numpy": "numpy",
    "scipy": "scipy",
    "sklearn": "scikit-learn",
    "tqdm": "tqdm",
    "evaluate": "evaluate",
    "datasets": "datasets",
    "transformers": "transformers",
    "tokenizers": "tokenizers",
    "safetensors": "safetensors",
    "peft": "peft",
    "PIL": "pillow",
    "mindspore": "mindspore",
    "mindnlp": "mindnlp",
}
MISSING_MODULE = re.compile(r"(?:ModuleNotFoundError|ImportError): No module named '(\w+)'")  # a package, not a submodule
INTERPRETER_HINT = "grade it in the course's MindNLP 0.4 environment with --python /path/to/its/python (or `python` in the profile's [run])"


def diagnose(stderr: str, exit_code: int | None, timed_out: bool, notebook_summary: str | None = None) -> list[str]:
    found: list[str] = []
    if notebook_summary:
        found.append(notebook_summary)
    if timed_out:
        return found
    api = MINDNLP_04.search(stderr)
    if api:
        what = api.group(1) or f"{api.group(2)} from mindnlp"
        found.append(
            f"written for the MindNLP 0.4 API ({what}), which MindNLP 0.5 removed: 0.5 runs Hugging Face "
            f"transformers/peft on mindtorch (`import torch`, torch.autograd.value_and_grad, Hugging Face "
            f"datasets); port the code, or {INTERPRETER_HINT}"
        )
    if exit_code not in (0, None) and not api:
        found += missing_modules(stderr)
    found += [advice for pattern, advice in MINDNLP_05_TRAPS if exit_code not in (0, None) and pattern.search(stderr)]
    if MARKER in stderr and exit_code not in (0, None):
        first = re.findall(re.escape(MARKER) + r" (\w+) was imported", stderr)[0]  # the student's own import
        found.append(f"{first} imported before mindnlp: put `import mindnlp` first, before any transformers, peft or torch import")
    if OOM.search(stderr) or exit_code == -9:
        found.append(
            "out of memory"
            + (" (killed by the system)" if exit_code == -9 else "")
            + ": lower the batch size or the maximum sequence length, or free tensors kept across steps"
        )
    missing = [m.group("path") for m in MISSING_FILE.finditer(stderr) if DATA_FILE.search(m.group("path"))]
    if missing and exit_code not in (0, None):
        found.append(
            f"the code reads {missing[-1]}, which the run does not have (data files are not part of a submission): "
            'read MRPC as the grader serves it, with load_dataset("glue", "mrpc") or from $GRADER_TRAIN_FILE and '
            "$GRADER_VALIDATION_FILE (JSON lines with sentence1, sentence2, label)"
        )
    if exit_code not in (0, None) and OFFLINE.search(stderr) and UPLOAD.search(stderr):
        found.append(
            "uploads to the Hugging Face hub (push_to_hub, upload_folder, create_repo or login) need the network, and "
            'grading is offline: save with model.save_pretrained(os.environ["GRADER_OUTPUT_DIR"]) and leave the upload '
            "out of the graded code, or run it only when GRADER_OUTPUT_DIR is unset"
        )
    elif exit_code not in (0, None) and OFFLINE.search(stderr):
        found.append(
            "tried to download from the internet; grading is offline: load the model, data and metric by "
            "the hub names the grader serves (roberta-large, glue/mrpc) or from $GRADER_MODEL_DIR and "
            "$GRADER_DATA_DIR"
        )
    return found


def missing_modules(stderr: str) -> list[str]:
    """A module the student interpreter lacks, named as the environment gap it is. One that course
    images carry is not the student's error; any other may be a package the course does not
    provide or a file the submission left out."""
    found = []
    for module in dict.fromkeys(MISSING_MODULE.findall(stderr)):
        package = COURSE_IMAGE_MODULES.get(module)
        if package:
            found.append(
                f"environment gap: the student interpreter has no module '{module}', which course images carry; this is not "
                f"an error in the student's code. Grade with --python pointing at an interpreter that has it (the course "
                f"image's), or install it into the grader's environment (`pip install --no-deps {package}` at the version "
                f"requirements.lock pins)"
            )
        else:
            found.append(
                f"the student interpreter has no module '{module}': if it is a package the course allows, supply it (--python "
                f"with an interpreter that has it, or install it into the grader's environment); if it is a file of the "
                f"submission, it was not handed in; otherwise use what the course environment provides"
            )
    return found


def cpu_compatibility(stderr: str) -> list[str]:
    """What the CPU compatibility layer (grader_hooks/cpu_compat.py) supplied during the run, once each."""
    return list(dict.fromkeys(f"{what} ({why})" for what, why in CPU_COMPAT_USED.findall(stderr)))


def headline(stderr: str) -> str:
    """The line that says why the run failed: the last exception with its message, where MindSpore
    leaves the message empty the first line of its body that says something, or MindSpore's last
    logged error when no Python exception was printed; never a separator or the C++ call stack."""
    lines = said(stderr)
    for i in range(len(lines) - 1, -1, -1):
        found = EXCEPTION_LINE.match(lines[i])
        if found and ":" in lines[i]:
            if found.group(1):
                return lines[i]
            body = next((line for line in lines[i + 1 :] if not SECTION_TITLE.match(line)), None)
            return f"{lines[i]} {body}" if body else lines[i]
    logged = [ASYNC_QUEUE_PREFIX.sub("", m.group(1)) for m in map(MINDSPORE_LOG.match, lines) if m]
    return (logged or lines or ["(no error output)"])[-1]
