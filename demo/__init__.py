"""A demo class for the course: realistic submissions, the instructor's pipeline end to end
(``python -m demo``), and the tamper and fault suite (``python -m demo.attacks``)."""
