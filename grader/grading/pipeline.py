"""Grading one submission, as its stages: options -> the running task -> inputs read and encoded -> per-image
scores -> per-subject judgement -> flags, points, provenance -> ``GradeResult``."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime, timezone
from pathlib import Path

from grader.grading import flags, partial, provenance
from grader.grading.encoding import read_and_embed
from grader.grading.inputs import relative_problem
from grader.grading.judgement import judge, subject_result
from grader.grading.options import GradeOptions, Resources
from grader.grading.points import course_points, points_probabilities
from grader.grading.running import labels, prepare
from grader.grading.scores import score_subject
from grader.problems import Problem, Severity
from grader.progress import ProgressReporter, SilentProgress
from grader.result import GradeResult
from grader.submission import archive_problems, unpacked
from grader.tasks.schema import Task
from grader.versions import library_versions


def grade(
    task: Task,
    submission: Path | str,
    data_dir: Path | str,
    options: GradeOptions | None = None,
    progress: ProgressReporter | None = None,
    resources: Resources | None = None,
    folder: Path | None = None,
) -> GradeResult:
    """Grade ``submission`` (a folder or a .zip) for ``task`` with the task's data in ``data_dir``.

    ``options`` is what the user asked (tier, lines, model overrides; ``GradeOptions.build`` makes it from
    strings), ``resources`` what the grade may reuse (the embedding cache, encoders kept loaded), ``progress``
    receives the encoders' progress. ``folder``: the submission already unpacked (a caller that writes views
    of the files keeps it); by default a zip is unpacked for the grade. Raises ``GraderError`` when it cannot
    grade at all; everything wrong with single files is a problem of the result instead.
    """
    options, resources = options or GradeOptions(), resources or Resources()
    progress = progress or SilentProgress()
    submission, data = Path(submission), Path(data_dir)  # strings from notebooks and scripts
    run = prepare(task, options)
    with unpacked(submission) if folder is None else nullcontext(folder) as root:
        encoded = read_and_embed(run, root, data, options, resources, progress)
        inputs = encoded.inputs
        subjects, rows, distributions, notes = [], [], {}, list(inputs.notes)
        for subject in inputs.subjects:
            complete = partial.complete_size(subject) if options.partial else None
            scores = score_subject(run.task, subject, encoded.embeddings, inputs.meta_file)
            judgement = judge(run, scores, encoded.embeddings, inputs.meta_file, complete)
            subjects.append(subject_result(run, scores, judgement, root))
            rows += flags.image_rows(run, scores, judgement, encoded)
            distributions[subject.subject] = judgement.distributions
            notes += scores.notes + judgement.notes
        flags.flag_duplicates(encoded, rows)
        if options.strict_copies:
            flags.copies_as_problems(rows, subjects)
        if not encoded.is_test_model():  # test models' ceilings mean nothing
            notes += flags.ceiling_notes(subjects)
        problems = archive_problems(root) + [relative_problem(p, root) for p in inputs.problems]
        if not subjects:  # an empty grade is not a pass
            problems.append(Problem(str(data), "the data names no subject: nothing was graded", None, Severity.ERROR))
        settings = provenance.settings(run, options, resources, encoded, data)
        pooled = provenance.pooled(run.task, encoded)
    problems += provenance.cache_problems(resources)
    notes += provenance.grade_notes(run, options, subjects)
    notes += provenance.group_notes(run.task, subjects, {s.subject: s.fields for s in inputs.subjects})
    notes += [f"assumed: {a}" for a in run.declared.assumptions]  # where the course's material is silent
    if options.partial:
        settings["partial"] = partial.summary(subjects)
        notes.append(partial.note(settings["partial"]))
    covered = provenance.coverage(run.task, subjects, rows)
    notes += provenance.coverage_note(covered, bool(run.task.published))
    points = course_points(run.declared, subjects)
    tier_points = [t.points for t in run.declared.tiers.values() if t.points is not None]
    return GradeResult(
        task=task.name,
        title=task.title,
        tier=run.tier_name or "",
        submission=str(submission),
        subjects=subjects,
        images=rows,
        problems=problems,
        models=[encoded.encoders[s.key].describe(labels(run.task, s)) for s in run.task.encoders()],
        settings=settings,
        versions=library_versions(),
        notes=notes,
        points=points,
        points_probability=points_probabilities(run.declared, subjects, distributions, points),
        comparability=provenance.comparability(run.task),
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        max_points=max(tier_points) if tier_points else None,
        overall=provenance.overall(run.task, subjects),
        published=run.task.published,
        coverage=covered,
        pooled=pooled,
        extras=provenance.extras(run.task, rows),
    )
