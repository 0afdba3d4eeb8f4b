"""Which split the rows of the run's training passes came from: the probe's fingerprints of the
input_ids of every training-mode forward pass (first tokens, padding stripped), against the
grader's own tokenization of the train and validation splits the run was given.

A row whose fingerprint is one of a validation pair's and no training pair's was a validation
pair fed to a training pass. The grader tokenizes each pair as the course's code does: sentence1
with sentence2, sentence2 with sentence1, and the two joined by a space, with the model's special
tokens. What it cannot see: rows tokenized another way (another tokenizer, lower-cased or
reworded text, inputs_embeds instead of input_ids), validation pairs copied into the training
file by hand with a changed first sentence, and anything a student who disables the probe does.
It rests on the probe's record (the student's process), so it flags; it never scores."""

from __future__ import annotations

from pathlib import Path

from grader.course import data
from grader.evidence.probe_record import ProbeRecord
from grader.run.inject.grader_hooks.probe import ROW_TOKENS, row_fingerprint

SOURCE = (
    "the probe's fingerprints of the input_ids of each training-mode forward pass, against the grader's own "
    "tokenization of the train and validation splits given to the run"
)
EXAMPLES = 5


def split_fingerprints(tokenizer, rows: list[dict]) -> dict[str, set[int]]:
    """Each fingerprint a pair can have, with the idx of the pairs that have it."""
    found: dict[str, set[int]] = {}
    for row in rows:
        first, second = str(row["sentence1"]), str(row["sentence2"])
        for encoding in (tokenizer.encode(first, second), tokenizer.encode(second, first), tokenizer.encode(f"{first} {second}")):
            found.setdefault(row_fingerprint(encoding.ids[:ROW_TOKENS]), set()).add(int(row.get("idx", -1)))
    return found


def measure(record: ProbeRecord | None, model_dir: Path, mrpc_dir: Path, train_limit: int | None) -> dict | None:
    """Counts of the observed training rows by split; None when the probe saw no training row,
    {"unavailable": why} when the grader cannot tokenize the splits."""
    observed = [row for model in (record.models if record else []) for row in model.training_rows]
    if not observed:
        return None
    tokenizer_file = Path(model_dir) / "tokenizer.json"
    if not tokenizer_file.is_file():
        return {"unavailable": f"the base model has no tokenizer.json ({tokenizer_file}), so the grader cannot tokenize the splits"}
    from tokenizers import Tokenizer  # the Rust tokenizer alone: no MindSpore in the grader's process

    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    train_rows = data.load_split(mrpc_dir, "train")
    train = split_fingerprints(tokenizer, train_rows[: int(train_limit)] if train_limit else train_rows)
    validation = split_fingerprints(tokenizer, data.load_split(mrpc_dir, "validation"))
    validation_only = {f: idx for f, idx in validation.items() if f not in train}
    from_validation = [row for row in observed if row in validation_only]
    pairs = sorted({i for row in from_validation for i in validation_only[row]})
    return {
        "source": SOURCE,
        "rows_observed": len(observed),
        "train_rows": sum(row in train for row in observed),
        "validation_rows": len(from_validation),
        "neither": sum(row not in train and row not in validation_only for row in observed),
        "validation_pairs": len(pairs),
        "validation_total": len({i for idx in validation.values() for i in idx}),
        "examples": pairs[:EXAMPLES],
    }
