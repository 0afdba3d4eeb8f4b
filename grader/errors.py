"""Errors that stop grading before a verdict exists (exit status 2)."""


class CannotGrade(Exception):
    """Raised for bad arguments or missing grader inputs; the message says what to do."""
