"""Reading a submission and its task data into per-subject inputs, collecting problems instead of stopping."""

from __future__ import annotations

from pathlib import Path

from grader.errors import InputError
from grader.result import Problem
from grader.submission.data_root import find_data_root
from grader.submission.dlcv import scan_labelled_images, scan_paired_folders, scan_prompt_folders
from grader.submission.dreambench import scan_dreambench
from grader.submission.files import SubjectInput
from grader.submission.single_subject import scan_identity_folders, scan_prompt_images
from grader.submission.subject_folders import scan_subject_folders
from grader.submission.unpack import unpacked

_SCANNERS = {
    "subject-folders": scan_subject_folders,
    "prompt-images": scan_prompt_images,
    "identity-folders": scan_identity_folders,
    "prompt-folders": scan_prompt_folders,
    "labelled-images": scan_labelled_images,
    "paired-folders": scan_paired_folders,
    "dreambench": scan_dreambench,
}


def scan(layout, submission: Path, data_dir: Path) -> tuple[list[SubjectInput], list[Problem]]:
    """Per-subject inputs for any layout kind. Problems of severity "note" say where things were read from."""
    if not data_dir.is_dir():
        raise InputError(f"{data_dir}: data folder not found")
    root, notes = find_data_root(data_dir, layout.data_markers)
    subjects, problems = _SCANNERS[layout.kind](layout, submission, root)
    return subjects, notes + problems


__all__ = ["SubjectInput", "scan", "unpacked"]
