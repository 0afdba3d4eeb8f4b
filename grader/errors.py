"""Errors that stop grading before a verdict exists (exit status 2)."""


class CannotGrade(Exception):
    """Raised for bad arguments or missing grader inputs; the message says what to do."""


class SandboxUnavailable(Exception):
    """No sandbox can be built here and the instructor did not allow grading without one: the
    grader's own fault, not the submission's (exit status 3, results.json says not graded)."""
