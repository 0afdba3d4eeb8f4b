"""The student's own commit; the test adds a classmate's repository as alternates and a ref linked to the classmate's branch."""

print("the student's own work")
