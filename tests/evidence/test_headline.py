"""The `run` check's one line on why a run failed, from real MindSpore errors: their messages end
in a C++ call stack, and some are only logged, with no Python exception at all."""

import os
import subprocess
import sys

import pytest

from grader.evidence.diagnose import headline

REAL_ERRORS = {
    "dtype": (
        "x = ms.Tensor(np.ones(2, np.int8)); ops.addcdiv(x, x, x, ms.Tensor(1, ms.int8))",
        "TypeError: For primitive[Addcdiv], the input argument[input] must be a type of",
    ),
    "device": ("ms.Tensor(np.ones(2, np.float32)).move_to('GPU')", "RuntimeError: The value of arg 'to' of method 'move_to'"),
    "logged only": (
        "ops.matmul(ms.Tensor(np.ones((2, 2), np.float32)), ms.Tensor(np.ones((3, 3), np.float32)))",
        "For 'MatMulExt' op, shape1[-1] must be equal to shape2[-2], but got 2 and 3.",  # without the launch queue's words
    ),
}


@pytest.mark.parametrize("case", REAL_ERRORS)
def test_real_mindspore_errors_are_headlined_by_their_message_not_the_cpp_stack(case):
    statement, expected = REAL_ERRORS[case]
    code = f"import mindspore as ms, numpy as np\nfrom mindspore import ops\n{statement}\n"
    # launched asynchronously, MindSpore's default (and on accelerators): an operator's error is then only logged
    env = {k: v for k, v in os.environ.items() if k != "MS_DEV_LAUNCH_BLOCKING"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert "- C++ Call Stack:" in done.stderr  # the shape of message this is about
    line = headline(done.stderr)
    assert line.startswith(expected), line
    assert "WorkerJoin" not in line and "before process exit" not in line
    assert ".cc:" not in line and "----" not in line


def test_an_empty_exception_message_takes_the_first_line_of_its_body():
    stderr = "\n".join(
        [
            "Traceback (most recent call last):",
            '  File "train.py", line 9, in <module>',
            "TypeError: ",
            "-" * 52,
            "- Kernel select failed:",
            "-" * 52,
            "Select CPU operator[Addcdiv] fail! Unsupported data type!",
            "",
            "-" * 52,
            "- C++ Call Stack: (For framework developers)",
            "-" * 52,
            "mindspore/ccsrc/plugin/device/cpu/hal/hardware/cpu_device_context.cc:503 SetOperatorInfo",
        ]
    )
    assert headline(stderr) == "TypeError: Select CPU operator[Addcdiv] fail! Unsupported data type!"


def test_plain_python_errors_and_empty_output():
    assert headline("Traceback (most recent call last):\n  File 'x'\nKeyError: 'test'\n") == "KeyError: 'test'"
    assert headline("") == "(no error output)"


# MindSpore's log-line heads, as the launch queue's two threads write them
LOG_HEADS = {
    "WorkerJoin failed": "[ERROR] RUNTIME_FRAMEWORK(1,7f,python):2026-12-03-18:41:37.197.300 "
    "[mindspore/ccsrc/runtime/pipeline/async_rqueue.cc:263] WorkerJoin] ",
    "Check exception before process exit": "[ERROR] PIPELINE(1,7f,python):2026-12-03-18:41:37.198.000 "
    "[mindspore/ccsrc/pipeline/jit/pipeline.cc:2210] ClearResAtexit] ",
}


@pytest.mark.parametrize("last", LOG_HEADS)
def test_a_logged_error_reads_the_same_whichever_launch_queue_thread_logged_it_last(last):
    message = "For 'MatMulExt' op, shape1[-1] must be equal to shape2[-2], but got 2 and 3."
    first = next(words for words in LOG_HEADS if words != last)
    stderr = f"{LOG_HEADS[first]}{first}: {message}\n{LOG_HEADS[last]}{last}: {message}\n"
    assert headline(stderr) == message
