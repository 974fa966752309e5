"""Grading a class: `grader check` once per student against `grader batch` (local and on Ray), from one run.

Builds small real-architecture encoders with random weights from their configs (DINO ViT-S/16 and CLIP ViT-B/32,
the sizes DreamBench uses; full-size ml2025 models are too slow for a class on two cores), a copy of ml2025-hw10
that uses them, and a class of N students x 90 synthetic images, each student's images their own. Prints wall
time of each way, the ratio to the per-student loop, and the peak RSS of the process tree it started (Ray's
workers are started by Ray's own daemons, so their memory is not in that figure).

Usage: python benchmarks/bench_class.py [--students 8] [--work DIR] [--no-ray]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from grader.tasks.registry import available_tasks
from grader.testing.classroom import build_distinct_class
from grader.testing.synthetic import build_ml2025_fixture
from grader.testing.tiny_models import build_tiny_models

DINO, CLIP = "facebook/dino-vits16", "openai/clip-vit-base-patch32"
GRADER = "import sys; from grader.cli import main; sys.argv[0] = 'grader'; main()"
MEASURE = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], capture_output=True, check=False)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def small_task(folder: Path) -> Path:
    """ml2025-hw10 with ViT-S/16 DINO and CLIP-B/32 in place of DINOv2-L and CLIP-L/14-336."""
    raw = yaml.safe_load(available_tasks()["ml2025-hw10"].read_text())
    raw["name"] = "ml2025-small"
    raw["metrics"]["dino"]["encoder"] = {
        "kind": "vit",
        "model": DINO,
        "preprocessing": "resize-crop",
        "resize_crop": {"resize": 256, "crop": 224, "interpolation": "bicubic"},
    }
    raw["metrics"]["clip_t"]["encoder"] = {"kind": "clip", "model": CLIP}
    path = folder / "ml2025-small.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def run(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of ``command``'s process tree."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", MEASURE, *command], env=env, capture_output=True, text=True)
    return time.perf_counter() - start, int(out.stdout.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=8)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--no-ray", action="store_true", help="leave out the Ray engine")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="t2i-class-"))
    models = build_tiny_models(work / "models", [DINO, CLIP], full_size=True)
    fixture = work / "ml2025"
    if not (fixture / "submission").is_dir():
        build_ml2025_fixture(fixture)
    classroom = build_distinct_class(work, fixture / "submission", args.students)
    task = small_task(work)
    data = fixture / "data"
    print(f"{args.students} students x 90 images, {DINO} + {CLIP} (random weights), {os.cpu_count()} cores")

    def env(name: str) -> dict[str, str]:
        return {**os.environ, "HF_HUB_OFFLINE": "1", "T2I_GRADER_CACHE": str(work / f"cache-{name}-{time.time_ns()}")}

    common = ["--task", str(task), "--data", str(data), "--models", str(models)]
    loop_env = env("loop")  # one cache for the loop too, as a TA's machine would have
    loop_seconds, loop_rss = 0.0, 0.0
    for student in sorted(classroom.iterdir()):
        seconds, rss = run([sys.executable, "-c", GRADER, "check", str(student), *common], loop_env)
        loop_seconds, loop_rss = loop_seconds + seconds, max(loop_rss, rss)
    rows = [("grader check, once per student", loop_seconds, loop_rss)]
    batch = [sys.executable, "-c", GRADER, "batch", str(classroom), *common]
    seconds, rss = run([*batch, "--out", str(work / f"out-local-{time.time_ns()}")], env("local"))
    rows.append(("grader batch --engine local", seconds, rss))
    if not args.no_ray:
        ray_out = work / f"out-ray-{time.time_ns()}"
        seconds, rss = run([*batch, "--out", str(ray_out), "--engine", "ray"], env("ray"))
        rows.append(("grader batch --engine ray (2 CPUs)", seconds, rss))
    print(f"{'':38s} {'wall':>8s} {'vs loop':>8s} {'peak RSS':>9s}")
    for name, seconds, rss in rows:
        print(f"{name:38s} {seconds:7.1f}s {loop_seconds / seconds:7.2f}x {rss:7.0f}MB")
    print("target: batch >= 1.5x faster than the per-student loop")


if __name__ == "__main__":
    main()
