"""Instructor tooling: run the nbgrader pipeline, build demo submissions, benchmark the models."""
