"""Build the `tiny` profile's model: a small RoBERTa with seeded random weights and a byte-level
BPE tokenizer trained on the MRPC training text, reproducible bit for bit.

Weights come from numpy's seeded generator, not from the framework's initialisers, so the files
do not depend on MindSpore's random number stream.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from grader.course import data
from grader.course.mindnlp_env import load as load_stack
from grader.course.profiles import GenerateSettings, Profile

SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
MANIFEST = "manifest.json"


def _config(gen: GenerateSettings, max_length: int) -> dict:
    return {
        "architectures": ["RobertaForSequenceClassification"],
        "model_type": "roberta",
        "vocab_size": gen.vocab_size,
        "hidden_size": gen.hidden_size,
        "num_hidden_layers": gen.num_hidden_layers,
        "num_attention_heads": gen.num_attention_heads,
        "intermediate_size": gen.intermediate_size,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": max_length + 2,
        "type_vocab_size": 1,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-5,
        "pad_token_id": 1,
        "bos_token_id": 0,
        "eos_token_id": 2,
        "num_labels": 2,
    }


def _train_tokenizer(out: Path, vocab_size: int, mrpc_dir: Path, max_length: int) -> None:
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaTokenizerFast

    rows = data.load_split(mrpc_dir, "train")
    texts = [row[key] for row in rows for key in ("sentence1", "sentence2")]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(texts, vocab_size=vocab_size, min_frequency=2, special_tokens=SPECIAL_TOKENS, show_progress=False)
    raw = out / "bpe"
    raw.mkdir()
    bpe.save_model(str(raw))
    tokenizer = RobertaTokenizerFast(vocab_file=str(raw / "vocab.json"), merges_file=str(raw / "merges.txt"), model_max_length=max_length)
    tokenizer.save_pretrained(str(out))
    shutil.rmtree(raw)


def _seeded_weights(config: dict, seed: int) -> dict[str, np.ndarray]:
    """Names and shapes from the real model class; values from a seeded numpy generator."""
    _, transformers, _ = load_stack()
    model = transformers.RobertaForSequenceClassification(transformers.RobertaConfig(**config))
    rng = np.random.default_rng(seed)
    weights = {}
    for name, tensor in model.state_dict().items():
        shape = tuple(tensor.shape)
        if name.endswith("LayerNorm.weight"):
            value = np.ones(shape, np.float32)
        elif name.endswith("bias"):
            value = np.zeros(shape, np.float32)
        else:
            value = rng.normal(0.0, config["initializer_range"], size=shape).astype(np.float32)
        weights[name] = value
    return weights


def build(profile: Profile, out: Path, mrpc_dir: Path) -> Path:
    """Write config, weights, tokenizer and a sha256 manifest into `out` (which must not exist)."""
    from safetensors.numpy import save_file

    gen = profile.generate
    config = _config(gen, profile.max_length)
    out.mkdir(parents=True)
    (out / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    save_file(_seeded_weights(config, gen.seed), str(out / "model.safetensors"), metadata={"format": "pt"})
    _train_tokenizer(out, int(gen.vocab_size), mrpc_dir, profile.max_length)
    digests = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir()) if p.is_file()}
    (out / MANIFEST).write_text(json.dumps(digests, indent=2, sort_keys=True) + "\n")
    return out


def is_built(profile: Profile) -> bool:
    """True when the cache holds the profile's finished model (its manifest is written last)."""
    return (profile.model_dir() / MANIFEST).is_file()


def ensure_tiny_model(profile: Profile, mrpc_dir: Path) -> Path:
    """Return the cached model directory, building it atomically on first use (the tokenizer
    is trained on `mrpc_dir`'s training text). Processes that need it at once (a batch's prepare
    step, a `grade` beside it) wait on a lock for the one that builds instead of each building it."""
    target = profile.model_dir()
    if is_built(profile):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{profile.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if this process dies
        if is_built(profile):  # built while this process waited
            return target
        staging = Path(tempfile.mkdtemp(prefix=f".{profile.name}-", dir=target.parent))
        try:
            build(profile, staging / "model", mrpc_dir)
            os.replace(staging / "model", target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target
