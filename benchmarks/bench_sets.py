"""What the set metrics (CMMD, KID-style MMD, DIV, Vendi) add to a grade whose embeddings are computed anyway,
from one run: DreamBench's course example graded cold (every embedding computed), then warm (every embedding from
the cache) with and without its set metrics; the difference of the warm grades is the set metrics' own cost, given
as a share of the cold grade.

Usage: python benchmarks/bench_sets.py [--full-size] [--repeat 5] [--work DIR]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from grader.cache import EmbeddingCache
from grader.grading import GradeOptions, Resources, grade
from grader.paths import fixtures_dir
from grader.tasks import load_task
from grader.tasks.registry import available_tasks
from grader.testing.tiny_models import build_tiny_models

SET_METRICS = ("div", "vendi", "cmmd")


def _without_set_metrics(folder: Path) -> Path:
    """dreambench with its set metrics left out, its CMMD encoder with them (nothing else changes)."""
    raw = yaml.safe_load(available_tasks()["dreambench"].read_text())
    raw["metrics"] = {k: v for k, v in raw["metrics"].items() if k not in SET_METRICS}
    raw["name"] = "dreambench-plain"
    path = folder / "dreambench-plain.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full-size", action="store_true", help="real architectures (random weights), real cost")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        ids = ["facebook/dino-vits16", "openai/clip-vit-base-patch32", "openai/clip-vit-large-patch14-336"]
        models = build_tiny_models(work / "models", ids, full_size=args.full_size)
        course = fixtures_dir() / "courses" / "dreambench"
        submission, data = course / "results", course / "dataset"
        options = GradeOptions(models_dir=models)
        full, plain = load_task("dreambench"), load_task(str(_without_set_metrics(work)))
        cache = EmbeddingCache(work / "cache")
        started = time.perf_counter()
        grade(full, submission, data, options, resources=Resources(cache))
        cold = time.perf_counter() - started

        def warm(task) -> float:
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                grade(task, submission, data, options, resources=Resources(cache))
                times.append(time.perf_counter() - started)
            return statistics.median(times)

        with_sets, without = warm(full), warm(plain)
    added = max(with_sets - without, 0.0)
    size = "full-size" if args.full_size else "tiny"
    print(f"DreamBench course example (2 subjects x 12 images), {size} models")
    print(f"  cold grade, every embedding computed      {cold:7.3f} s")
    print(f"  warm grade with the set metrics           {with_sets:7.3f} s (median of {args.repeat})")
    print(f"  warm grade without them                   {without:7.3f} s")
    print(f"  the set metrics add                       {added:7.3f} s = {added / cold:.1%} of the cold grade "
          "(target < 5%)")  # fmt: skip


if __name__ == "__main__":
    main()
