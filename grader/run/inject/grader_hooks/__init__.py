"""Hooks the grader installs in the student's process; standard library only."""
