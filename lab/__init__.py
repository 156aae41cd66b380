"""Research tools: reference trainings, the ablation, input speed, grading throughput and timing.

Nothing else imports this package; it uses ``utils``, ``grader`` and ``demo``.
"""
