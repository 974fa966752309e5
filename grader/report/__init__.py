"""Views of one GradeResult: console, JSON, CSV."""

from grader.report.console import render
from grader.report.files import write_csv, write_json, write_subjects_csv

__all__ = ["render", "write_csv", "write_json", "write_subjects_csv"]
