"""Serialisers of a ScoredResult (Gradescope, Classroom, JUnit, CSV, scored.json), the HTML
reports and charts, and the class summary; file names live in files.py."""
