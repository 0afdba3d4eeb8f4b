"""Errors that stop grading before a verdict exists (exit status 2)."""


class CannotGrade(Exception):
    """Raised for bad arguments or missing grader inputs; the message says what to do."""


class Unreachable(CannotGrade):
    """The grader could not get the submission at all: an address it refuses to fetch, a clone
    that failed, a path that is not there. Nothing of the submission was read, so it is never
    judged: the student could not be graded (error.txt says why) and the next batch tries again.
    A submission the grader got but cannot take as it is (an unsafe zip, a link out of its
    folder, no commit before the deadline) is the submission's own: graded as failed, with the reason."""


class SandboxUnavailable(Exception):
    """No sandbox can be built here and the grading did not ask for another isolation: the
    grader's own fault, not the submission's (exit status 3, results.json says not graded and
    carries `sandbox_unavailable`, bubblewrap's reason, for a script that grades again without it)."""

    def __init__(self, message: str, refused: str):
        super().__init__(message)
        self.refused = refused
