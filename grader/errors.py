"""Errors that stop grading before a verdict exists (exit status 2)."""


class CannotGrade(Exception):
    """Raised for bad arguments or missing grader inputs; the message says what to do."""


class SandboxUnavailable(Exception):
    """No sandbox can be built here and the grading did not ask for another isolation: the
    grader's own fault, not the submission's (exit status 3, results.json says not graded and
    carries `sandbox_unavailable`, bubblewrap's reason, for a script that grades again without it)."""

    def __init__(self, message: str, refused: str):
        super().__init__(message)
        self.refused = refused
