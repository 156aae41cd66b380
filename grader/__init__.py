"""The grading service: the code that must be trusted, and the only code that runs with the
grader's rights next to student work.

It imports nothing of ours but ``utils`` (the helpers the notebooks use). ``assignment`` knows the
teacher notebook; ``course`` runs the nbgrader commands on a course directory; ``grade`` grades a
whole class; ``sandbox`` isolates each notebook's kernel; ``tamper`` reads student cells for
attempts on the checks; ``preprocessors`` keep odd submissions gradable; ``reports`` sums the
points and draws the class report.
"""
