"""Facts collected from one run, stored so the checks can be judged again without training."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from grader.run.runner import RunRecord

FILE = "evidence.json"
ADAPTER_DIR, PROBE_DIR, LOGS_DIR = "adapter", "probe", "logs"  # inside the evidence folder


@dataclass
class Evidence:
    submission: str
    entry: str | None
    entry_problem: str | None
    run: RunRecord | None
    output_dir: str  # where the student was told to save
    searched: list[str] = field(default_factory=list)  # where the grader looked for an adapter
    adapter_found_at: str | None = None  # relative to the student's workspace or output dir
    adapter_dir: str | None = None  # the grader's copy, inside the evidence folder
    other_adapters: list[str] = field(default_factory=list)
    evaluation: dict | None = None
    evaluation_error: str | None = None
    source: dict | None = None  # kind, and for git the commit graded (sources.Source)
    device: str | None = None
    notebook: dict | None = None  # the notebook runner's record: cells run, failing or running cell
    diagnoses: list[str] = field(default_factory=list)  # known causes of a failed run, for the student
    test_evaluation: dict | None = None  # held-out test split: for the instructor only
    test_evaluation_error: str | None = None
    full_models: list[dict] = field(default_factory=list)  # whole-model weights found instead of an adapter
    probe_dir: str | None = None  # the probe's record, copied into the evidence folder
    ignored_adapters: list[dict] = field(default_factory=list)  # {"path", "reason"}: found but not graded
    not_copied: list[str] = field(default_factory=list)  # the grader's own output folders left out of the run
    cpu_compatibility: list[str] = field(default_factory=list)  # MindNLP CPU gaps the grader supplied (cpu_compat hook)
    evaluated_by: str | None = None  # the long-lived evaluator, or a fresh evaluation and why
    code: dict | None = None  # normalised fingerprint of the code as handed in (evidence/code_fingerprint.py)
    training_rows: dict | None = None  # training rows observed against the splits (evidence/training_rows.py)
    isolation: dict | None = None  # the run's isolation mode and why (run/isolation.py), even when nothing ran
    course_base: dict | None = None  # the course model's own fingerprints (course_fingerprints.CourseModel)

    def summary(self) -> str:
        if self.entry_problem:
            return self.entry_problem
        if self.run and self.run.timed_out:
            return f"stopped at the time budget ({self.run.budget_seconds:g} s)"
        if self.run and self.run.exit_code:
            return f"exited with status {self.run.exit_code}"
        if not self.adapter_dir:
            return "no adapter saved"
        return self.evaluation_error or "ran and saved an adapter"

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / FILE
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, folder: Path) -> Evidence:
        """Read a stored record; paths that moved with the folder are found inside it."""
        raw = json.loads((folder / FILE).read_text())
        raw["run"] = RunRecord(**raw["run"]) if raw["run"] else None
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in raw.items() if k in known})._relocated(folder)

    def _relocated(self, folder: Path) -> Evidence:
        for attribute, kept in (("adapter_dir", folder / ADAPTER_DIR), ("probe_dir", folder / PROBE_DIR)):
            stored = getattr(self, attribute)
            if stored and not Path(stored).is_dir() and kept.is_dir():
                setattr(self, attribute, str(kept))
        if self.run:
            paths = {}
            for key in ("stdout_path", "stderr_path"):
                old = Path(getattr(self.run, key))
                if not old.is_file() and (folder / LOGS_DIR / old.name).is_file():
                    paths[key] = str(folder / LOGS_DIR / old.name)
            self.run = replace(self.run, **paths)
        return self
