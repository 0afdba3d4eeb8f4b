import json

from grader.course import tiny_model
from grader.course.profiles import load


def test_tiny_model_is_reproducible_bit_for_bit(tiny_model_dir, mrpc_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_CACHE", str(tmp_path))
    again = tiny_model.ensure_tiny_model(load("tiny"), mrpc_dir)
    assert tmp_path in again.parents and tmp_path not in tiny_model_dir.parents  # built afresh, not the session's copy
    first = {p.name: p.read_bytes() for p in tiny_model_dir.iterdir()}
    second = {p.name: p.read_bytes() for p in again.iterdir()}
    assert first.keys() == second.keys() >= {"config.json", "model.safetensors", "tokenizer.json", "vocab.json", "merges.txt"}
    assert first == second


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
