"""Everything the checks judge, read once per grading: the evidence record, the saved adapter,
the probe's record, the run's logs and the metrics they claim."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from grader.course.course_fingerprints import CourseModel
from grader.evidence import adapter as adapter_io
from grader.evidence import claims as claims_io
from grader.evidence import probe_record
from grader.evidence.record import Evidence

LOG_EXCERPT_LINES = 40


@dataclass
class Findings:
    evidence: Evidence
    adapter: adapter_io.Adapter | None = None
    record: probe_record.ProbeRecord | None = None
    stdout: str = ""
    stderr: str = ""
    claims: dict[str, claims_io.Claim] = field(default_factory=dict)  # the last claim of each metric

    @property
    def course(self) -> CourseModel | None:
        """The course model's own fingerprints, as recorded when the run was graded (None: an
        evidence record from before they were recorded)."""
        stored = self.evidence.course_base if self.evidence is not None else None
        return CourseModel.from_dict(stored) if stored else None

    @property
    def logs(self) -> str:
        return "\n".join(text for text in (self.stdout, self.stderr) if text)

    def log_excerpt(self) -> str:
        lines = self.stdout.splitlines() + self.stderr.splitlines()
        return "\n".join(lines[-LOG_EXCERPT_LINES:])

    @classmethod
    def build(cls, ev: Evidence, adapter: adapter_io.Adapter | None, stdout: str, stderr: str) -> Findings:
        """From what the caller already read; only the probe's record is read here."""
        record = probe_record.load(Path(ev.probe_dir)) if ev.probe_dir else None
        found = cls(ev, adapter, record, stdout, stderr)
        found.claims = claims_io.final(claims_io.parse(found.logs))
        return found

    @classmethod
    def load(cls, ev: Evidence) -> Findings:
        """Read everything a stored evidence record points at (re-scoring, tests)."""
        adapter = adapter_io.read(Path(ev.adapter_dir)) if ev.adapter_dir else None
        return cls.build(ev, adapter, *read_logs(ev))


def read_logs(ev: Evidence) -> tuple[str, str]:
    """The run's stdout and stderr ("" for a run that never started)."""
    return (_read(ev.run.stdout_path), _read(ev.run.stderr_path)) if ev.run else ("", "")


def _read(path: str) -> str:
    file = Path(path)
    return file.read_text(errors="replace") if file.is_file() else ""
