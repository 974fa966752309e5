"""Grading speed and memory against the models' own cost, a peer and the course notebooks' script shape.

Builds DINOv2-L/14 and CLIP-L/14-336 with random weights from their configs (no download), draws N synthetic
512x512 images in the ml2025-hw10 layout and prints, from one run:

  floor         pure model forward time for those images at the grader's batch size
  grader        cold (empty cache), warm (nothing changed), after one image changed
  peer          torchmetrics CLIPScore updated image by image (the CLIP-T half of the work), against the
                grader doing only that work; run twice each, alternating, and the faster run of each kept,
                since a shared machine's speed drifts by several per cent over minutes
  course shape  model loaded once, one image at a time, no cache (DINO and CLIP-T)
  peak RSS      of a grading process at N and at 10·N images (tiny models: the question is growth)
  bf16          the cold grade again in bf16: speed ratio against fp32 and the largest score difference
  CLI wall      what a user waits for: the real `grader` command in a fresh process (--help, tasks, cache
                info, models, check cold and fully cached), as ratios to B = `python -c "import numpy, PIL.Image"`

Usage: python benchmarks/bench_grade.py [--images 90] [--work DIR] [--tiny] [--peer-only] [--cli-only] [--rss-only]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from grader.cache import EmbeddingCache
from grader.encoders.base import image_batch_size, projected
from grader.grading import GradeOptions, Resources, grade
from grader.tasks import load_task
from grader.testing.decodes import counting_decodes
from grader.testing.synthetic import build_ml2025_fixture
from grader.testing.tiny_models import build_tiny_models

TASK = "ml2025-hw10"
DINO, CLIP = "facebook/dinov2-large", "openai/clip-vit-large-patch14-336"


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def all_paths(root: Path) -> tuple[list[Path], list[Path], dict[Path, str]]:
    """Generated images, reference images, and each generated image's CLIP text."""
    metadata = json.loads((root / "data" / "metadata.json").read_text())
    generated, texts = [], {}
    for subject, fields in metadata.items():
        for path in sorted((root / "submission" / subject).glob("*.png")):
            generated.append(path)
            texts[path] = fields["text_cond"]
    references = [root / "data" / fields["path"] for fields in metadata.values()]
    return generated, references, texts


@torch.inference_mode()
def floor_seconds(
    models: Path, generated: list[Path], references: list[Path], texts: list[str], dtype: torch.dtype
) -> float:
    """Forward passes only, of the work grading needs (DINO: images and references; CLIP: images and texts),
    at the grader's batch size for ``dtype``; pixels are prepared before the clock starts."""
    from transformers import AutoTokenizer, CLIPModel, Dinov2Model

    from grader.encoders.base import load_image_processor

    total = 0.0
    batch = image_batch_size(torch.device("cpu"), dtype)
    dino = Dinov2Model.from_pretrained(models / DINO).eval().to(dtype)
    clip = CLIPModel.from_pretrained(models / CLIP).eval().to(dtype)
    for model_dir, forward, paths in (
        (DINO, lambda px: dino(pixel_values=px).pooler_output, generated + references),
        (CLIP, lambda px: projected(clip.get_image_features(pixel_values=px)), generated),
    ):
        processor = load_image_processor(models / model_dir)
        batches = [
            processor(images=[Image.open(p).convert("RGB") for p in paths[i : i + batch]], return_tensors="pt")[
                "pixel_values"
            ].to(dtype)
            for i in range(0, len(paths), batch)
        ]
        start = time.perf_counter()
        for pixels in batches:
            forward(pixels)
        total += time.perf_counter() - start
    tokenizer = AutoTokenizer.from_pretrained(models / CLIP)
    tokens = tokenizer(sorted(set(texts)), padding=True, return_tensors="pt")
    seconds, _ = timed(lambda: clip.get_text_features(**tokens))
    return total + seconds


def clip_t_task():
    """The task with its CLIP-T metric only: the same work the peer does, for a like-for-like comparison."""
    task = load_task(TASK)
    return task.model_copy(update={"metrics": {"clip_t": task.metrics["clip_t"]}, "tiers": {}})


def grader_seconds(root: Path, models: Path, cache: EmbeddingCache | None, dtype: str | None = None, task=None):
    options = GradeOptions(models_dir=models, dtype=dtype)
    return timed(
        lambda: grade(task or load_task(TASK), root / "submission", root / "data", options, None, Resources(cache))
    )


def peer_seconds(models: Path, generated: list[Path], texts: dict[Path, str]) -> float:
    """torchmetrics CLIPScore, one update per image, as its documentation shows; from loading the model to
    the score, like the grader's time."""
    from torchmetrics.multimodal.clip_score import CLIPScore
    from transformers import CLIPModel, CLIPProcessor

    class Projected(torch.nn.Module):
        # transformers 5 returns output objects where torchmetrics 1.9 expects tensors; same computation.
        def __init__(self, model):
            super().__init__()
            self.model, self.config = model, model.config

        def get_image_features(self, *args, **kwargs):
            return projected(self.model.get_image_features(*args, **kwargs))

        def get_text_features(self, *args, **kwargs):
            return projected(self.model.get_text_features(*args, **kwargs))

    def load():
        return Projected(CLIPModel.from_pretrained(models / CLIP).eval()), CLIPProcessor.from_pretrained(models / CLIP)

    def run():
        metric = CLIPScore(model_name_or_path=load)  # loading counts, as it does in the grader's time
        for path in generated:
            pixels = torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1)
            metric.update(pixels, texts[path])
        return metric.compute()

    seconds, _ = timed(run)
    return seconds


@torch.inference_mode()
def course_shape_seconds(models: Path, generated: list[Path], references: list[Path], texts: dict[Path, str]):
    """The notebooks' loop: each model loaded once, every image (and its reference) processed alone."""
    from transformers import AutoImageProcessor, AutoModel, CLIPModel, CLIPProcessor

    dino = AutoModel.from_pretrained(models / DINO).eval()
    dino_proc = AutoImageProcessor.from_pretrained(models / DINO)
    clip = CLIPModel.from_pretrained(models / CLIP).eval()
    clip_proc = CLIPProcessor.from_pretrained(models / CLIP)
    by_subject = {r.stem: r for r in references}  # references/object-N.png

    def run():
        for path in generated:
            image = Image.open(path).convert("RGB")
            ref = Image.open(by_subject[path.parent.name]).convert("RGB")
            gen_f = dino(**dino_proc(images=image, return_tensors="pt")).pooler_output
            ref_f = dino(**dino_proc(images=ref, return_tensors="pt")).pooler_output
            torch.nn.functional.cosine_similarity(gen_f, ref_f)
            inputs = clip_proc(text=[texts[path]], images=image, return_tensors="pt", padding=True)
            _ = clip(**inputs).logits_per_image

    seconds, _ = timed(run)
    return seconds


# VmHWM, not getrusage's ru_maxrss: Linux carries the forking parent's peak over exec into ru_maxrss, so a child
# of this (multi-GB) benchmark process would report the parent's memory.
RSS_CHILD = """
import re, sys
from pathlib import Path
from grader.grading import GradeOptions, grade
from grader.tasks import load_task
root, models = Path(sys.argv[1]), Path(sys.argv[2])
grade(load_task("ml2025-hw10"), root / "submission", root / "data", GradeOptions(models_dir=models))
print(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1))
"""


def peak_rss_mb(root: Path, models: Path) -> float:
    out = subprocess.run(
        [sys.executable, "-c", RSS_CHILD, str(root), str(models)], capture_output=True, text=True, check=True
    )
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def rss_growth(work: Path, root: Path, tiny: Path, n: int, per_object: int) -> tuple[float, float]:
    big = work / f"images-{10 * n}"
    if not (big / "submission").is_dir():
        build_ml2025_fixture(big, images_per_object=10 * per_object)
    rss_n, rss_10n = peak_rss_mb(root, tiny), peak_rss_mb(big, tiny)
    print(f"peak RSS at N={n}: {rss_n:.0f} MB, at 10N={10 * n}: {rss_10n:.0f} MB (tiny models)")
    return rss_n, rss_10n


def peer_and_grader(root: Path, models: Path, generated: list[Path], texts: dict[Path, str]):
    """The like-for-like CLIP-T runs, alternating peer, grader, grader, peer so that drift hits both alike;
    the faster of each pair is kept."""
    peer_runs, grader_runs = [], []
    for run_peer in (True, False, False, True):
        if run_peer:
            peer_runs.append(peer_seconds(models, generated, texts))
        else:
            grader_runs.append(grader_seconds(root, models, None, task=clip_t_task())[0])
    listed = [", ".join(f"{t:.1f}" for t in runs) for runs in (peer_runs, grader_runs)]
    print(f"  runs: peer {listed[0]} s; grader {listed[1]} s")
    return min(peer_runs), min(grader_runs)


def _wall(command: list[str], env: dict[str, str], runs: int = 3) -> float:
    """Fastest wall time of ``runs`` fresh processes (the first also warms the OS file cache)."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, env=env, capture_output=True, check=False)
        best = min(best, time.perf_counter() - start)
    return best


def cli_wall(root: Path, models: Path, work: Path) -> None:
    """The real command, as a user runs it, against the bare interpreter's start-up with numpy and Pillow."""
    env = {**os.environ, "T2I_GRADER_CACHE": str(work / f"cli-cache-{time.time_ns()}"), "HF_HUB_OFFLINE": "1"}
    grader = [sys.executable, "-c", "import sys; from grader.cli import main; sys.argv[0] = 'grader'; main()"]
    check = [*grader, "check", str(root / "submission"), "--task", TASK, "--data", str(root / "data")]
    check += ["--models", str(models)]
    generate = [sys.executable, "-c", "import sys; from generators.cli import entry; sys.argv[0] = 'generate'; entry()"]
    bare = _wall([sys.executable, "-c", "import numpy, PIL.Image"], env, runs=5)
    rows = [
        ("grader --help", _wall([*grader, "--help"], env), 3),
        ("generate --help", _wall([*generate, "--help"], env), 3),
        ("generate run --help", _wall([*generate, "run", "--help"], env), 3),
        ("grader tasks", _wall([*grader, "tasks"], env), 3),
        ("grader cache info", _wall([*grader, "cache", "info"], env), 3),
        ("grader models", _wall([*grader, "models", "--task", TASK, "--models", str(models)], env), 3),
    ]
    cold = _wall(check, env, runs=1)  # fills the cache
    rows += [("grader check, cold", cold, None), ("grader check, fully cached", _wall(check, env), 8)]
    print(f"\nCLI wall (fresh process each; B = bare `import numpy, PIL.Image` = {bare:.3f} s)")
    for name, seconds, target in rows:
        goal = f"(target <= {target} B)" if target else ""
        print(f"  {name:28s} {seconds:7.2f} s  {seconds / bare:6.1f} B  {goal}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=90, help="generated images (multiple of 6)")
    parser.add_argument("--work", type=Path, default=None, help="folder for models and images (default: temp)")
    parser.add_argument("--tiny", action="store_true", help="tiny models instead of full-size (a smoke run)")
    parser.add_argument("--peer-only", action="store_true", help="only the like-for-like CLIP-T comparison")
    parser.add_argument("--cli-only", action="store_true", help="only the CLI wall section")
    parser.add_argument("--rss-only", action="store_true", help="only the peak RSS at N and 10N images")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="t2i-bench-"))
    per_object = max(1, args.images // 6)
    n = per_object * 6

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
        f"{torch.__version__} ({torch.get_num_threads()} threads), bf16 capability: "
        f"{torch.backends.cpu.get_cpu_capability()}"
    )
    models = build_tiny_models(
        work / ("tiny-models" if args.tiny else "full-models"), [DINO, CLIP], full_size=not args.tiny
    )
    tiny = build_tiny_models(work / "tiny-models", [DINO, CLIP])
    root = work / f"images-{n}"
    if not (root / "submission").is_dir():
        build_ml2025_fixture(root, images_per_object=per_object)
    generated, references, texts = all_paths(root)
    kind = "tiny" if args.tiny else "full-size random-weight"
    print(f"{n} generated + {len(references)} reference images, 512x512; {kind} models")

    if args.rss_only:
        rss_n, rss_10n = rss_growth(work, root, tiny, n, per_object)
        print(f"  peak RSS 10N / N           {rss_10n / rss_n:6.2f}   (target <= 1.1)")
        return
    if args.cli_only:
        cli_wall(root, models, work)
        return
    if args.peer_only:
        peer, clip_only = peer_and_grader(root, models, generated, texts)
        print(
            f"peer: torchmetrics CLIPScore {peer:.1f} s; grader CLIP-T only, cold {clip_only:.1f} s; "
            f"peer / grader {peer / clip_only:.2f} (target >= 1)"
        )
        return
    floor = floor_seconds(models, generated, references, list(texts.values()), torch.float32)
    print(f"floor (model forward only)         {floor:8.1f} s")
    cache = EmbeddingCache(work / f"cache-{time.time_ns()}.sqlite")
    with counting_decodes() as decodes:
        cold, cold_result = grader_seconds(root, models, cache)
    print(f"grader cold                        {cold:8.1f} s")
    per_file = sum(decodes.values()) / (len(generated) + len(references))
    warm, _ = grader_seconds(root, models, cache)
    print(f"grader warm (nothing changed)      {warm:8.1f} s")
    changed_path = generated[0]
    original = changed_path.read_bytes()
    Image.open(changed_path).transpose(Image.FLIP_LEFT_RIGHT).save(changed_path)
    one, result = grader_seconds(root, models, cache)
    changed_path.write_bytes(original)
    recomputed = result.settings["embeddings_computed"]
    print(f"grader after one image changed     {one:8.1f} s  (recomputed {recomputed})")
    peer, clip_only = peer_and_grader(root, models, generated, texts)
    print(f"peer: torchmetrics CLIPScore       {peer:8.1f} s  (CLIP-T only)")
    print(f"grader, CLIP-T only, cold          {clip_only:8.1f} s  (the peer's work)")
    course = course_shape_seconds(models, generated, references, texts)
    print(f"course shape (one at a time)       {course:8.1f} s")

    rss_n, rss_10n = rss_growth(work, root, tiny, n, per_object)

    bf16_cache = EmbeddingCache(work / f"cache-bf16-{time.time_ns()}.sqlite")
    t16, r16 = grader_seconds(root, models, bf16_cache, dtype="bfloat16")
    shift = max(
        abs(a.scores[k] - b.scores[k]) for a, b in zip(cold_result.images, r16.images, strict=True) for k in a.scores
    )
    print(f"grader cold in bf16                {t16:8.1f} s  (largest score shift from fp32 {shift:.3f})")
    floor16 = floor_seconds(models, generated, references, list(texts.values()), torch.bfloat16)
    print(f"floor in bf16 (model forward only) {floor16:8.1f} s")

    print("\nratios")
    print(f"  grader cold / floor        {cold / floor:6.2f}   (target <= 1.15)")
    print(f"  peer / grader (CLIP-T only) {peer / clip_only:5.2f}   (target >= 1; same work)")
    print(f"  course shape / grader cold {course / cold:6.2f}")
    print(f"  cold / warm                {cold / warm:6.1f}   (warm target < 2 s)")
    print(f"  peak RSS 10N / N           {rss_10n / rss_n:6.2f}   (target <= 1.1)")
    print(f"  fp32 / bf16 speed, grader  {cold / t16:6.2f}   (target >= 2.5 where the CPU has bf16)")
    print(f"  fp32 / bf16 speed, floor   {floor / floor16:6.2f}   (what the models themselves gain)")
    print(f"  grader cold / floor, bf16  {t16 / floor16:6.2f}")
    print(f"  decodes per image file, cold {per_file:4.2f} (target 1: once for checks, hashes and both encoders)")
    print(f"recomputed after one change: {recomputed} (target: 1 per encoder)")
    cli_wall(root, models, work)


if __name__ == "__main__":
    main()
