import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from grader.course import tiny_model
from grader.course.profiles import load
from tests import helpers


def test_tiny_model_is_reproducible_bit_for_bit(tiny_model_dir, mrpc_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_CACHE", str(tmp_path))
    again = tiny_model.ensure_tiny_model(load("tiny"), mrpc_dir)
    assert tmp_path in again.parents and tmp_path not in tiny_model_dir.parents  # built afresh, not the session's copy
    first = {p.name: p.read_bytes() for p in tiny_model_dir.iterdir()}
    second = {p.name: p.read_bytes() for p in again.iterdir()}
    assert first.keys() == second.keys() >= {"config.json", "model.safetensors", "tokenizer.json", "vocab.json", "merges.txt"}
    assert first == second


def test_a_process_that_needs_the_model_while_another_builds_it_waits_and_uses_that_one(tiny_model_dir, mrpc_dir, tmp_path):
    """A batch's prepare step and a `grade` beside it on a fresh cache: the second waits on the
    build lock and takes the finished model instead of building its own."""
    target = tmp_path / "models" / "tiny"
    target.parent.mkdir(parents=True)
    code = "import sys; from pathlib import Path; from grader.course import profiles, tiny_model; "
    code += "print(tiny_model.ensure_tiny_model(profiles.load('tiny'), Path(sys.argv[1])))"
    env = os.environ | {"PYTHONPATH": str(helpers.ROOT), "GRADER_CACHE": str(tmp_path)}
    with open(target.parent / ".tiny.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # this test is the process building it
        waiting = subprocess.Popen([sys.executable, "-c", code, str(mrpc_dir)], env=env, stdout=subprocess.PIPE, text=True)
        # /proc/locks lists a process blocked on a lock as "-> FLOCK ... <pid> ..."
        blocked = f" {waiting.pid} "
        helpers.wait_for(
            lambda: any(
                line.split(":", 1)[1].startswith(" -> FLOCK") and blocked in line for line in Path("/proc/locks").read_text().splitlines()
            ),
            120,
            "the second process to wait on the build lock",
        )
        shutil.copytree(tiny_model_dir, target)
        (target / "built-by-the-other-process").touch()  # no build makes this file
    assert waiting.communicate(timeout=120)[0].strip() == str(target) and waiting.returncode == 0
    assert sorted(p.name for p in target.parent.iterdir()) == [".tiny.lock", "tiny"]  # nothing staged, nothing built
    assert (target / "built-by-the-other-process").is_file()


def test_tiny_model_loads_with_its_tokenizer(tiny_model_dir, tiny_profile):
    from grader.course.mindnlp_env import load as load_stack

    _, transformers, _ = load_stack()
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(tiny_model_dir))
    model = transformers.AutoModelForSequenceClassification.from_pretrained(str(tiny_model_dir))
    config = json.loads((tiny_model_dir / "config.json").read_text())
    assert config["hidden_size"] == tiny_profile.generate.hidden_size
    assert len(tokenizer) == tiny_profile.generate.vocab_size
    encoded = tokenizer("Amrozi accused his brother", "He denied it", return_tensors="pt")
    assert encoded["input_ids"][0, 0].item() == tokenizer.bos_token_id
    logits = model(**encoded).logits
    assert tuple(logits.shape) == (1, 2)
