"""Importing the built-in layout modules registers their layout kinds."""

from grader.submission import customconcept, dlcv, dreambench, single_subject, subject_folders  # noqa: F401
