"""A homework whose git repository's config names programs for git to run (built by the test)."""

print("the student's own work")
