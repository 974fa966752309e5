"""Reading a submission and its task data into per-subject inputs, collecting problems instead of stopping."""

from grader.submission.subject_folders import SubjectInput, scan_subject_folders
from grader.submission.unpack import unpacked

__all__ = ["SubjectInput", "scan_subject_folders", "unpacked"]
