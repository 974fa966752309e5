"""t2i-grader: exact, local grading of personalized text-to-image work."""

__version__ = "0.1.0"
