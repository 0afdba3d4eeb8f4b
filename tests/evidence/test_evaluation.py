"""The grader's evaluation, on adapters whose predictions are known by construction."""

import numpy as np
import pytest

from grader.course import data
from grader.evidence import adapter, evaluation, metrics


def test_metrics_on_a_hand_counted_example():
    result = metrics.classification([1, 1, 0, 0, 1], [1, 0, 0, 1, 1])
    # tp=2 fp=1 fn=1 -> F1 = 4/6
    assert result == {"accuracy": 0.6, "f1": pytest.approx(2 / 3), "positive_rate": 0.6}
    assert metrics.classification([1, 0], [0, 0])["f1"] == 0.0


def _constant_class_adapter(tiny_model_dir, folder, predicted_class):
    """A real IA3 adapter whose classifier ignores its input and always answers one class."""
    from safetensors.numpy import save_file

    from grader.commands.calibrate import reference_module
    from grader.course.mindnlp_env import load

    _, transformers, peft = load()
    model = peft.get_peft_model(
        transformers.AutoModelForSequenceClassification.from_pretrained(str(tiny_model_dir)), reference_module().peft_config()
    )
    model.save_pretrained(str(folder))
    tensors = adapter.read(folder).tensors
    tensors["base_model.model.classifier.out_proj.weight"][:] = 0.0
    tensors["base_model.model.classifier.out_proj.bias"][:] = [-5.0, 5.0] if predicted_class == 1 else [5.0, -5.0]
    save_file(tensors, str(folder / adapter.WEIGHTS))
    return folder


@pytest.mark.parametrize("predicted_class", [1, 0])
def test_evaluation_of_a_constant_classifier_gives_the_known_metrics(tiny_model_dir, mrpc_dir, tmp_path, predicted_class):
    folder = _constant_class_adapter(tiny_model_dir, tmp_path / "adapter", predicted_class)
    rows = data.load_split(mrpc_dir, "validation")
    measured = evaluation.evaluate(tiny_model_dir, folder, rows, max_length=128, seed=0)
    positives = sum(r["label"] for r in rows)
    assert positives == 279
    if predicted_class == 1:
        assert measured["accuracy"] == pytest.approx(279 / 408) and measured["f1"] == pytest.approx(2 * 279 / (2 * 279 + 129))
    else:
        assert measured["accuracy"] == pytest.approx(129 / 408) and measured["f1"] == 0.0
    assert measured["examples"] == 408


@pytest.mark.slow  # evaluates through MindNLP in a child process: half a minute on a loaded machine
def test_predictions_come_back_in_the_original_order(tiny_model_dir, mrpc_dir, tmp_path):
    """Length-sorted batching must not shuffle the answers: compare with each row's prediction
    made alone.

    The classifier head is set so that the rows split between both classes (its bias sits at
    the median logit difference), otherwise order would not matter."""
    from grader.commands.calibrate import reference_module
    from grader.course.mindnlp_env import load

    torch, transformers, peft = load()
    rows = data.load_split(mrpc_dir, "validation")[:40]
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(tiny_model_dir))
    model = peft.get_peft_model(
        transformers.AutoModelForSequenceClassification.from_pretrained(str(tiny_model_dir)), reference_module().peft_config()
    )
    head = {n: p for n, p in model.named_parameters() if "classifier" in n and p.requires_grad}
    rng = np.random.default_rng(5)
    with torch.no_grad():
        for name, param in head.items():
            value = np.zeros(param.shape, np.float32) if name.endswith("bias") else rng.normal(0, 10, param.shape).astype(np.float32)
            param.copy_(torch.tensor(value))
        model.eval()
        diffs = []
        for row in rows:
            logits = model(
                **tokenizer(row["sentence1"], row["sentence2"], truncation=True, max_length=128, return_tensors="pt")
            ).logits.numpy()[0]
            diffs.append(logits[1] - logits[0])
        out_bias = next(p for n, p in head.items() if n.endswith("out_proj.bias"))
        out_bias.copy_(torch.tensor(np.array([0.0, -np.median(diffs)], np.float32)))
    model.save_pretrained(str(tmp_path / "a"))
    batched = evaluation.predict(tiny_model_dir, tmp_path / "a", rows, 128, 0)
    # each row alone through the model above, with the bias just set: class 1 where its logit
    # difference is above the median (no row sits within float noise of it)
    distance = np.abs(np.array(diffs) - np.median(diffs))
    assert distance.min() > 1e-3, distance.min()
    one_by_one = [int(d > np.median(diffs)) for d in diffs]
    assert 0 < sum(one_by_one) < len(one_by_one)  # both classes occur, so order matters
    assert list(batched) == one_by_one


@pytest.mark.slow
def test_the_device_evaluation_process_measures_what_the_grader_process_measures(tiny_model_dir, mrpc_dir, tmp_path):
    """The child-process path used on accelerators, run here on the CPU: same numbers, and a
    failure inside it becomes an error with the child's last line, not a hang or a crash."""
    folder = _constant_class_adapter(tiny_model_dir, tmp_path / "adapter", 1)
    splits = {"validation": data.load_split(mrpc_dir, "validation")[:64], "test": data.load_split(mrpc_dir, "test")[:32]}
    here = evaluation.evaluate_splits(tiny_model_dir, folder, splits, 128, 0)
    there = evaluation.evaluate_isolated(tiny_model_dir, folder, splits, 128, 0, {"DEVICE_TARGET": "CPU"}, timeout=300)
    assert there == here and there["test"]["examples"] == 32
    with pytest.raises(RuntimeError, match="evaluation process exited with status 1"):
        evaluation.evaluate_isolated(tiny_model_dir, tmp_path / "no-adapter-here", splits, 128, 0, {"DEVICE_TARGET": "CPU"}, timeout=300)
