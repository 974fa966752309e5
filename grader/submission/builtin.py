"""Importing the built-in layout modules registers their layout kinds."""

from grader.submission import (  # noqa: F401
    customconcept,
    dlcv,
    dreambench,
    dreambench_plus,
    single_subject,
    subject_folders,
)
