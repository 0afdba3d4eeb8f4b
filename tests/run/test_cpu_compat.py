"""The CPU compatibility layer injected into student runs: torch.optim's AdamW and gradient clipping
run on MindNLP 0.5.1's CPU back end with it, give the numbers the formulas give, and fail without it."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from grader.evidence.diagnose import cpu_compatibility
from grader.run.inject import SITE_DIR

# A training step as a Trainer with default arguments takes it: clip the gradient norm to 1, then AdamW.
STEP = """
import json, mindnlp, torch
p = torch.nn.Parameter(torch.ones(2, 3))
optimizer = torch.optim.AdamW([p], lr=0.1)
for _ in range(2):
    p.grad = torch.tensor([[3.0, 4.0, 0.0], [0.0, 0.0, 0.0]])
    norm = float(torch.nn.utils.clip_grad_norm_([p], 1.0))
    optimizer.step()
print(json.dumps({"norm": norm, "p": p.detach().numpy().tolist()}))
"""


def run_step(hooks: str, device: str = "CPU") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(SITE_DIR), "GRADER_HOOKS": hooks, "DEVICE_TARGET": device, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-c", STEP], env=env, capture_output=True, text=True, timeout=300)


def adamw_by_hand(steps: int) -> np.ndarray:
    grad = np.array([[3.0, 4.0, 0.0], [0.0, 0.0, 0.0]]) / 5.0  # clipped to norm 1
    p, m, v, lr, b1, b2, eps, decay = np.ones((2, 3)), np.zeros((2, 3)), np.zeros((2, 3)), 0.1, 0.9, 0.999, 1e-8, 0.01
    for t in range(1, steps + 1):
        p = p * (1 - lr * decay)
        m, v = b1 * m + (1 - b1) * grad, b2 * v + (1 - b2) * grad**2
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    return p


@pytest.mark.slow
def test_adamw_and_clipping_run_on_the_cpu_with_the_layer_and_match_the_formulas():
    done = run_step("cpu_compat")
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["norm"] == pytest.approx(5.0)
    np.testing.assert_allclose(result["p"], adamw_by_hand(2), rtol=1e-5, atol=1e-6)
    assert cpu_compatibility(done.stderr) == [
        "linalg_vector_norm over all dimensions (gradient clipping, clip_grad_norm_)",
        "addcdiv (torch.optim Adam/AdamW steps)",
    ]


@pytest.mark.slow
def test_without_the_layer_the_same_step_fails_on_the_cpu():
    done = run_step("")
    assert done.returncode != 0
    assert "LpNorm" in done.stderr or "addcdiv on cpu" in done.stderr
    assert cpu_compatibility(done.stderr) == []


def test_the_layer_stays_out_of_runs_on_a_device():
    script = (
        "import sys, os\n"
        f"sys.path.insert(0, {str(SITE_DIR)!r})\n"
        "from grader_hooks import cpu_compat, importhooks\n"
        "cpu_compat.install()\n"
        "print(sorted(importhooks._callbacks))\n"
    )
    for device, expected in (("Ascend", "[]"), ("GPU", "[]"), ("CPU", "['mindtorch._apis.cpu']")):
        env = {"PATH": "/usr/bin:/bin", "DEVICE_TARGET": device, "PYTHONDONTWRITEBYTECODE": "1"}
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == expected, device


def test_uses_are_read_once_each_even_inside_progress_bars():
    stderr = (
        " 0%|          | 0/4 [00:00<?, ?it/s][grader] cpu compatibility: addcdiv supplied (torch.optim Adam/AdamW steps)\n"
        "[grader] cpu compatibility: addcdiv supplied (torch.optim Adam/AdamW steps)\n"
    )
    assert cpu_compatibility(stderr) == ["addcdiv (torch.optim Adam/AdamW steps)"]
