"""Generator adapters on tiny pipelines built here: each changes the output, seeds reproduce bytes, and the
grader reads what the generators write."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from PIL import Image
from typer.testing import CliRunner

from generators.adapters import Adapter, AdapterError, CustomDiffusion, IPAdapter, LoRA, TextualInversion
from generators.cli import app as generate_app
from generators.jobs import Job
from generators.run import load_base
from generators.testing import (
    build_tiny_blip_diffusion,
    build_tiny_custom_diffusion,
    build_tiny_embedding,
    build_tiny_ip_adapter,
    build_tiny_lora,
    build_tiny_sd,
    build_tiny_sdxl,
    build_tiny_sdxl_embedding,
    tiny_unet,
)
from grader.cli import app as grader_app
from grader.errors import ModelMissingError
from grader.paths import fixtures_dir
from grader.tasks import load_task
from grader.tasks.registry import available_tasks

# Their outcome depends on transformers (its models, processors or tokenizers): also run on 4.x.
pytestmark = pytest.mark.transformers

COURSES = fixtures_dir() / "courses"


@pytest.fixture(scope="session")
def tiny_sd(tmp_path_factory) -> Path:
    return build_tiny_sd(tmp_path_factory.mktemp("sd") / "tiny-sd")


@pytest.fixture(scope="session")
def weights(tiny_sd: Path, tmp_path_factory) -> dict[str, Path]:
    from diffusers import UNet2DConditionModel

    root = tmp_path_factory.mktemp("weights")

    def unet():
        return UNet2DConditionModel.from_pretrained(tiny_sd / "unet")

    return {
        "ip": build_tiny_ip_adapter(root / "ip", unet()),
        "lora": build_tiny_lora(root / "lora", unet()),
        "embedding": build_tiny_embedding(root / "ti" / "learned_embeds.safetensors", "<new1>"),
        "custom": build_tiny_custom_diffusion(root / "cd", unet(), ["<new1>"]),
    }


@pytest.fixture(scope="session")
def reference(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ref") / "ref.png"
    Image.new("RGB", (64, 64), (200, 30, 30)).save(path)
    return path


def _image(tiny_sd: Path, adapter: Adapter, job: Job) -> bytes:
    pipe, _ = load_base(str(tiny_sd))
    adapter.apply(pipe)
    generator = torch.Generator().manual_seed(7)
    out = pipe(
        job.prompt, num_inference_steps=2, generator=generator, height=64, width=64, **adapter.call_kwargs(pipe, job)
    ).images[0]
    return np.asarray(out).tobytes()


@pytest.mark.parametrize("name", ["ip-adapter", "lora", "textual-inversion", "custom-diffusion"])
def test_each_adapter_changes_the_output_and_reproduces(name, tiny_sd, weights, reference):
    adapter = {
        "ip-adapter": lambda: IPAdapter(source=str(weights["ip"]), scale=0.8),
        "lora": lambda: LoRA(path=str(weights["lora"]), scale=1.0),
        "textual-inversion": lambda: TextualInversion(embeddings={"<new1>": str(weights["embedding"])}),
        "custom-diffusion": lambda: CustomDiffusion(path=str(weights["custom"]), tokens=["<new1>"]),
    }[name]
    job = Job("dog", "a photo of <new1> dog", Path("0.png"), [reference])
    bare = _image(tiny_sd, Adapter(), job)
    first, second = _image(tiny_sd, adapter(), job), _image(tiny_sd, adapter(), job)
    assert first != bare
    assert first == second


def test_wrong_base_and_wrong_token_are_named(tiny_sd, tmp_path):
    other = tiny_unet(cross_attention_dim=64)  # a UNet of another shape stands for another base
    lora = build_tiny_lora(tmp_path / "other-lora", other)
    pipe, _ = load_base(str(tiny_sd))
    with pytest.raises(AdapterError, match=r"does not fit this SD 1\.5 base model"):
        LoRA(path=str(lora)).apply(pipe)
    embedding = build_tiny_embedding(tmp_path / "e.safetensors", "<other>")
    with pytest.raises(AdapterError, match="holds <other>, not the task's token <new1>"):
        TextualInversion(embeddings={"<new1>": str(embedding)}).apply(pipe)
    with pytest.raises(ModelMissingError, match="LoRA weights not found"):
        LoRA(path=str(tmp_path / "missing.safetensors")).apply(pipe)


def _small_task(tmp_path: Path) -> Path:
    """ml2025-hw10 cut to two objects of two 64 x 64 images, so tiny pipelines generate it in seconds."""
    raw = yaml.safe_load(available_tasks()["ml2025-hw10"].read_text())
    raw["name"] = "ml2025-small"
    raw["layout"].update(subjects=["object-1", "object-2"], images_per_subject=2, image_size=[64, 64])
    raw["tiers"]["boss"]["per_subject"] = {s: {"dino": -100, "clip_t": -100} for s in ("object-1", "object-2")}
    path = tmp_path / "ml2025-small.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _args(task: Path, data: Path, tiny_sd: Path, out: Path, weights: dict) -> list[str]:
    return [
        "run",
        "--task",
        str(task),
        "--data",
        str(data),
        "--base",
        str(tiny_sd),
        "--out",
        str(out),
        "--adapter",
        "ip-adapter",
        "--weights",
        str(weights["ip"]),
        "--steps",
        "2",
        "--seed",
        "3",
    ]


def test_generate_then_grade(tmp_path, tiny_sd, weights, ml2025, tiny_models):
    task, out = _small_task(tmp_path), tmp_path / "results"
    res = CliRunner().invoke(
        generate_app, [*_args(task, ml2025 / "data", tiny_sd, out, weights), "--subject-scale", "object-2=0.9"]
    )
    assert res.exit_code == 0, res.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["adapter"] == "ip-adapter" and manifest["settings"]["subject_scales"] == {"object-2": 0.9}
    assert [i["file"] for i in manifest["images"]] == [
        "object-1/0.jpg",
        "object-1/1.jpg",
        "object-2/0.jpg",
        "object-2/1.jpg",
    ]
    assert manifest["images"][0]["prompt"] == "a photo of a cat on the grass" and manifest["images"][3]["seed"] == 6
    assert Image.open(out / "object-1" / "0.jpg").size == (64, 64)

    again = CliRunner().invoke(generate_app, _args(task, ml2025 / "data", tiny_sd, out, weights))
    assert again.exit_code == 2 and "already exist" in again.output  # nothing is overwritten unasked

    graded = CliRunner().invoke(
        grader_app,
        ["check", str(out), "--task", str(task), "--data", str(ml2025 / "data"), "--models", str(tiny_models)],
    )
    assert graded.exit_code == 0, graded.output
    assert "generated with ip-adapter" in graded.output and "ip_adapter_scale=0.6" in graded.output


def test_same_seed_same_bytes(tmp_path, tiny_sd, weights, ml2025):
    task = _small_task(tmp_path)
    for name in ("a", "b"):
        res = CliRunner().invoke(generate_app, _args(task, ml2025 / "data", tiny_sd, tmp_path / name, weights))
        assert res.exit_code == 0, res.output
        assert "Loading pipeline components" not in res.output and "it/s]" not in res.output  # as grader: quiet
    for path in (tmp_path / "a").rglob("*.jpg"):
        assert path.read_bytes() == (tmp_path / "b" / path.relative_to(tmp_path / "a")).read_bytes()


def test_sweep_writes_table_plots_and_best(tmp_path, tiny_sd, weights, ml2025, tiny_models):
    task, out = _small_task(tmp_path), tmp_path / "sweep"
    args = _args(task, ml2025 / "data", tiny_sd, out, weights)
    res = CliRunner().invoke(
        generate_app, ["sweep", *args[1:], "--models", str(tiny_models), "--grid", "ip_adapter_scale=0.2,0.8"]
    )
    assert res.exit_code == 0, res.output
    table = (out / "sweep.csv").read_text().splitlines()
    assert len(table) == 1 + 2 * 2 and "ip_adapter_scale" in table[0] and "worst_margin" in table[0]
    assert "recommended for every subject: ip_adapter_scale=" in res.output
    assert "settings by worst pass probability over subjects: " in res.output
    assert "pass_probability" in table[0] and "dino_margin" in table[0]
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["ip_adapter_scale-0.2", "ip_adapter_scale-0.8"]
    for name in ("scores_object-1", "scores_object-2", "margins_dino", "margins_clip_t"):
        plot = Image.open(out / f"{name}.png").convert("RGB")
        colours = np.unique(np.asarray(plot).reshape(-1, 3), axis=0)
        assert plot.size == (640, 480 if name.startswith("scores") else 420) and len(colours) > 20
    page = (out / "sweep.html").read_text()
    assert page.count('<tr class="recommended">') >= 1 and page.count("data:image/png;base64,") == 4
    assert "ip_adapter_scale-0.8" in page and "DINO (100·cos)" in page
    # test models and the tiny pipeline are named, in the console and on the page
    panel = "".join(res.output.replace("│", "").split())  # the banner, read back whatever the console's width
    assert "TESTMODELS" in panel and "(tinytestpipeline)" in panel and 'id="test-models"' in page
    # the console table speaks the task's labels, with each score's line and margin
    text = " ".join(res.output.split("Sweep", 1)[1].split("recommended for", 1)[0].split())
    assert "clip_t" not in text and "pass_probability" not in text and "P(pass)" in text
    assert re.search(r"-?\d+\.\d\d >= -100 \S* \+\d+\.\d\d", text), res.output


def test_missing_base_model_exit_3(tmp_path, ml2025):
    res = CliRunner().invoke(
        generate_app,
        [
            "run",
            "--task",
            "ml2025-hw10",
            "--data",
            str(ml2025 / "data"),
            "--base",
            str(tmp_path / "nope"),
            "--out",
            str(tmp_path / "o"),
            "--models",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 3
    assert "not found" in res.output


def test_sdxl_two_encoder_embedding_and_cross_base_lora(tmp_path, weights):
    base = build_tiny_sdxl(tmp_path / "tiny-sdxl")
    embedding = build_tiny_sdxl_embedding(tmp_path / "pivotal.safetensors")
    job = Job("dog", "a photo of <new1> dog", Path("0.png"))
    bare = _image(base, Adapter(), job)
    first = _image(base, TextualInversion(embeddings={"<new1>": str(embedding)}), job)
    assert first != bare
    assert first == _image(base, TextualInversion(embeddings={"<new1>": str(embedding)}), job)

    pipe, _ = load_base(str(base))
    TextualInversion(embeddings={"<new1>": str(embedding)}).apply(pipe)
    for tokenizer in (pipe.tokenizer, pipe.tokenizer_2):  # both encoders learned the token
        assert tokenizer.convert_tokens_to_ids("<new1>") != tokenizer.unk_token_id
    pipe, _ = load_base(str(base))
    with pytest.raises(AdapterError, match="does not fit this SDXL base model"):
        LoRA(path=str(weights["lora"])).apply(pipe)  # an SD 1.5 LoRA


def test_settings_rank_by_their_least_sure_subject():
    import pandas as pd

    from generators.sweep_model import rank_settings

    rows = [
        ("a", "s1", 0.9, 2.0),
        ("a", "s2", 0.5, 0.1),
        ("b", "s1", 0.7, 1.0),
        ("b", "s2", 0.7, 1.0),
        ("c", "s1", 1.0, 9.0),
        ("c", "s2", 0.2, -1.0),
    ]
    table = pd.DataFrame(rows, columns=["setting", "subject", "pass_probability", "worst_margin"])
    assert rank_settings(table) == [("b", 0.7), ("a", 0.5), ("c", 0.2)]


# Samplers, DDIM eta and noise interpolation (DLCV HW2 P2).


def test_slerp_and_lerp_against_numpy():
    from generators.interpolate import alphas, lerp, slerp

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(64), rng.standard_normal(64)
    ta, tb = torch.tensor(a).reshape(1, 4, 4, 4), torch.tensor(b).reshape(1, 4, 4, 4)
    theta = np.arccos(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    for alpha in (0.0, 0.3, 1.0):
        expected = (np.sin((1 - alpha) * theta) * a + np.sin(alpha * theta) * b) / np.sin(theta)
        np.testing.assert_allclose(slerp(ta, tb, alpha).numpy().ravel(), expected, atol=1e-12)
        np.testing.assert_allclose(lerp(ta, tb, alpha).numpy().ravel(), (1 - alpha) * a + alpha * b, atol=1e-12)
    assert torch.equal(slerp(ta, tb, 0.0), ta) or torch.allclose(slerp(ta, tb, 0.0), ta, atol=1e-12)
    u, v = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])  # unit vectors: slerp stays on the circle
    assert all(abs(float(slerp(u, v, t).norm()) - 1) < 1e-6 for t in alphas(5))
    assert abs(float(lerp(u, v, 0.5).norm()) - np.sqrt(0.5)) < 1e-6  # lerp cuts the corner


def test_edm_pairing_warns_both_ways(tmp_path):
    from diffusers import EDMDPMSolverMultistepScheduler

    from generators.schedulers import scheduler_name, use_scheduler
    from generators.testing import build_tiny_sdxl

    pipe, _ = load_base(str(build_tiny_sdxl(tmp_path / "sdxl")))
    pipe.scheduler = EDMDPMSolverMultistepScheduler()  # EDM's own defaults, as Playground v2.5 ships them
    pipe.save_pretrained(tmp_path / "edm-base")  # an EDM base, as Playground v2.5 ships
    edm, _ = load_base(str(tmp_path / "edm-base"))
    assert scheduler_name(edm) == "edm-dpmpp-2m"
    assert "not one" in use_scheduler(edm, "euler")[0]
    edm, _ = load_base(str(tmp_path / "edm-base"))
    assert use_scheduler(edm, "edm-euler") == [] and scheduler_name(edm) == "edm-euler"
    plain, _ = load_base(str(build_tiny_sdxl(tmp_path / "sdxl")))
    assert "not trained for EDM" in use_scheduler(plain, "edm-euler")[0]


def test_ddim_eta_is_recorded_and_graded(tmp_path, tiny_sd, ml2025, tiny_models):
    task, out = _small_task(tmp_path), tmp_path / "eta"
    common = ["--task", str(task), "--data", str(ml2025 / "data"), "--base", str(tiny_sd), "--steps", "2"]
    res = CliRunner().invoke(generate_app, ["run", *common, "--out", str(out), "--scheduler", "ddim", "--eta", "0.5"])
    assert res.exit_code == 0, res.output
    generation = json.loads((out / "manifest.json").read_text())["generation"]
    assert (generation["scheduler"], generation["eta"]) == ("ddim", 0.5)
    graded = CliRunner().invoke(
        grader_app,
        ["check", str(out), "--task", str(task), "--data", str(ml2025 / "data"), "--models", str(tiny_models)],
    )
    assert graded.exit_code == 0, graded.output
    assert "scheduler=ddim, eta=0.5" in graded.output
    bad = CliRunner().invoke(
        generate_app, ["run", *common, "--out", str(tmp_path / "x"), "--scheduler", "euler", "--eta", "0.5"]
    )
    assert bad.exit_code == 2 and "--eta applies to the DDIM scheduler, not euler" in bad.output


def test_interpolate_writes_frames_and_strip(tmp_path, tiny_sd):
    from generators.interpolate import seeded_noise

    pipe, _ = load_base(str(tiny_sd))
    for name, seed in (("00.pt", 0), ("01.pt", 1)):
        torch.save(seeded_noise(pipe, seed), tmp_path / name)
    out = tmp_path / "interp"
    args = [
        "interpolate",
        "--base",
        str(tiny_sd),
        "--noise-a",
        str(tmp_path / "00.pt"),
        "--noise-b",
        str(tmp_path / "01.pt"),
        "--steps",
        "3",
        "--sampling-steps",
        "2",
        "--out",
        str(out),
    ]
    res = CliRunner().invoke(generate_app, args)
    assert res.exit_code == 0, res.output
    frames = sorted(out.glob("frame_*.png"))
    assert len(frames) == 3
    w, h = Image.open(frames[0]).size
    assert Image.open(out / "strip.png").size == (3 * w, h)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["mode"] == "slerp" and manifest["alphas"] == [0.0, 0.5, 1.0]
    bad = CliRunner().invoke(generate_app, [*args[:-2], "--out", str(tmp_path / "b"), "--mode", "cubic"])
    assert bad.exit_code == 2 and "'cubic'" in bad.output and "'lerp'" in bad.output


def test_ddim_grid_rows_by_eta(tmp_path, tiny_sd):
    out = tmp_path / "grid" / "ddim.png"
    args = [
        "ddim-grid",
        "--base",
        str(tiny_sd),
        "--seeds",
        "0,1",
        "--etas",
        "0,1",
        "--sampling-steps",
        "2",
        "--out",
        str(out),
    ]
    res = CliRunner().invoke(generate_app, args)
    assert res.exit_code == 0, res.output
    sheet = np.asarray(Image.open(out))
    h, w = sheet.shape[0] // 2, sheet.shape[1] // 2
    assert not np.array_equal(sheet[:h, :w], sheet[h:, :w])  # eta 1 adds noise: another picture
    assert json.loads((out.parent / "manifest.json").read_text())["rows_eta"] == [0.0, 1.0]


def _sweep_table(rows):
    import pandas as pd

    columns = ["setting", "ip_adapter_scale", "guidance", "subject", "verdict", "worst_margin", "pass_probability"]
    return pd.DataFrame(rows, columns=columns)


def test_the_recommended_setting_has_the_best_worst_subject_margin():
    from generators.sweep_model import recommend

    table = _sweep_table(
        [
            ("s=0.4, g=3", 0.4, 3.0, "a", "PASS", 2.0, 0.9),
            ("s=0.4, g=3", 0.4, 3.0, "b", "FAIL", -1.0, 0.2),  # worst at this setting: -1
            ("s=0.8, g=3", 0.8, 3.0, "a", "PASS", 0.5, 0.7),
            ("s=0.8, g=3", 0.8, 3.0, "b", "PASS", 0.3, 0.6),  # worst +0.3: the best worst-subject margin
            ("s=0.4, g=7", 0.4, 7.0, "a", "PASS", 3.0, 1.0),
            ("s=0.4, g=7", 0.4, 7.0, "b", "FAIL", -0.2, 0.4),
            ("s=0.8, g=7", 0.8, 7.0, "a", "FAIL", -0.5, 0.3),
            ("s=0.8, g=7", 0.8, 7.0, "b", "PASS", 1.0, 0.8),
        ]
    )
    grid = {"ip_adapter_scale": [0.4, 0.8], "guidance": [3.0, 7.0]}
    best = recommend(table, grid, per_subject_scale=False)
    assert (best.setting, best.point, best.worst_margin) == (
        "s=0.8, g=3",
        {"ip_adapter_scale": 0.8, "guidance": 3.0},
        0.3,
    )
    assert best.worst_subject == "b" and best.passes and best.pass_probability == 0.6 and not best.subject_scales
    # IP-Adapter applies a scale per subject: at guidance 3, a does best at 0.4 (+2.0), b at 0.8 (+0.3).
    scaled = recommend(table, grid, per_subject_scale=True)
    assert scaled.subject_scales == {"a": 0.4, "b": 0.8}
    assert "--subject-scale a=0.4,b=0.8" in scaled.sentence()
    assert recommend(table.assign(worst_margin=None), grid, per_subject_scale=True) is None  # no lines, no advice


def test_sweep_folders_are_shell_safe():
    from generators.sweep_model import folder_name, setting_text

    point = {"lora_scale": 0.8, "guidance": 7.5}
    assert folder_name(point) == "lora_scale-0.8_guidance-7.5" and setting_text(point) == "lora_scale=0.8, guidance=7.5"


def _two_setting_sweep():
    """A 2 x 2 sweep's table over two subjects, with margins chosen so the best worst-subject margin is known."""
    from generators.sweep_model import SweepResult, recommend

    rows = []
    for s in (0.4, 0.8):
        for g in (3.0, 7.0):
            for subject, dino in (("object-1", 40 + 10 * s), ("object-2", 45 - g + 2 * s)):
                name = f"ip_adapter_scale={s:g}, guidance={g:g}"
                point = {"ip_adapter_scale": s, "guidance": g, "subject": subject}
                scores = {"dino": dino, "dino_line": 44.0, "dino_margin": dino - 44.0}
                scores |= {"clip_t": 30.0, "clip_t_line": 29.0, "clip_t_margin": 1.0}
                rows.append({"setting": name, "folder": f"ip_adapter_scale-{s:g}_guidance-{g:g}", **point, **scores})
    table = pd.DataFrame(rows)
    table["worst_margin"] = table[["dino_margin", "clip_t_margin"]].min(axis=1)
    table["verdict"] = np.where(table["worst_margin"] >= 0, "PASS", "FAIL")
    table["pass_probability"] = (table["worst_margin"] >= 0).astype(float)
    grid = {"ip_adapter_scale": [0.4, 0.8], "guidance": [3.0, 7.0]}
    return SweepResult(table, [], recommend(table, grid, False), [], grid), load_task("ml2025-hw10")


def test_a_two_setting_sweep_draws_a_heatmap_per_metric_and_a_scatter_per_subject(tmp_path):
    from generators.sweep_page import render_sweep_html
    from generators.sweep_plots import plot_sweep

    sweep, task = _two_setting_sweep()
    # Worst subject's margin by hand: (0.4, 3) -1.2, (0.8, 3) -0.4, (0.4, 7) -5.2, (0.8, 7) -4.4.
    assert sweep.recommended.setting == "ip_adapter_scale=0.8, guidance=3"
    assert sweep.recommended.worst_margin == pytest.approx(-0.4) and not sweep.recommended.passes
    sweep.plots = plot_sweep(sweep, task, tmp_path)
    assert [p.name for p in sweep.plots] == [
        "scores_object-1.png", "scores_object-2.png", "margins_dino.png", "margins_clip_t.png"
    ]  # fmt: skip
    heat = np.asarray(Image.open(tmp_path / "margins_dino.png").convert("RGB")).reshape(-1, 3).astype(int)
    assert ((heat[:, 0] > 150) & (heat[:, 1] < 80)).any()  # red cells where the worst subject misses the line
    page = render_sweep_html(sweep, task)
    assert page.count("<figure>") == 4 and "0.8, guidance=3</strong>" in page
    assert "DINO: the worst subject&#39;s margin over its line" in page  # the heat-map's caption


def test_the_sweep_page_in_a_real_browser(tmp_path):
    from generators.sweep_page import write_sweep_html
    from generators.sweep_plots import plot_sweep
    from tests.test_html_report import _chromium

    browser_path = _chromium()
    if browser_path is None:
        pytest.skip("no chromium on this machine (CI installs Debian's chromium package)")
    sync_api = pytest.importorskip("playwright.sync_api")
    sweep, task = _two_setting_sweep()
    sweep.plots = plot_sweep(sweep, task, tmp_path)
    path = write_sweep_html(sweep, task, tmp_path)
    errors: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(path.as_uri())
        banner = page.inner_text("#recommended")
        widths = page.evaluate("[...document.querySelectorAll('figure img')].map(i => i.naturalWidth)")
        rows = page.locator("#scores tbody tr").count()
        page.screenshot(path=str(tmp_path / "sweep.png"), full_page=True)
        browser.close()
    assert "NO SETTING PASSES" in banner and "ip_adapter_scale=0.8, guidance=3" in banner
    assert widths == [640, 640, 640, 640] and rows == 8 and errors == []


# BLIP-Diffusion (ml2025-hw10's zero-shot method).


def test_blip_diffusion_gets_the_prompt_without_its_subject():
    from generators.adapters import context_of

    assert context_of("a photo of a dog on the beach", "dog") == "on the beach"
    assert context_of("a zwx dog in the jungle", "dog") == "in the jungle"
    assert context_of("a wet zwx dog", "dog") == "a wet zwx"
    assert context_of("a hotdog stand", "dog") == "a hotdog stand"  # a whole word only
    assert context_of("a photo of a Cat, on the grass", "cat") == "on the grass"


def test_jobs_carry_the_category_blip_diffusion_conditions_on(ml2025):
    from generators.jobs import plan

    jobs = plan(load_task("ml2025-hw10"), ml2025 / "data")
    assert {j.subject: j.category for j in jobs}["object-1"] == "cat"  # the object's name in metadata.json
    dream = plan(load_task("dreambench"), COURSES / "dreambench", token="zwx")
    assert {j.category for j in dream if j.subject == "dog6"} == {"dog"}  # the subject's class


def test_blip_diffusion_needs_a_blip_diffusion_base(tmp_path, ml2025, tiny_sd):
    args = ["run", "--task", str(_small_task(tmp_path)), "--data", str(ml2025 / "data"), "--base", str(tiny_sd)]
    res = CliRunner().invoke(generate_app, [*args, "--out", str(tmp_path / "o"), "--adapter", "blip-diffusion"])
    assert (
        res.exit_code == 2 and "needs a BLIP-Diffusion base" in res.output and "StableDiffusionPipeline" in res.output
    )


def test_blip_diffusion_generates_what_the_grader_reads(tmp_path, ml2025, tiny_models):
    base = build_tiny_blip_diffusion(tmp_path / "tiny-blip")
    task, out = _small_task(tmp_path), tmp_path / "blip"
    args = ["run", "--task", str(task), "--data", str(ml2025 / "data"), "--base", str(base), "--out", str(out)]
    res = CliRunner().invoke(generate_app, [*args, "--adapter", "blip-diffusion", "--steps", "2", "--seed", "1"])
    # diffusers' (deprecated) BLIP-Diffusion runs on the course's stack, transformers 4.4x with diffusers 0.3x: the
    # tox env "blip" installs it and must generate; elsewhere the one accepted failure is the clear message.
    if os.environ.get("T2I_GRADER_BLIP_STACK") != "1" and res.exit_code == 2:
        assert "does not run with transformers" in res.output and "transformers>=4.41,<4.47" in res.output
        return
    assert res.exit_code == 0, res.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["adapter"] == "blip-diffusion" and manifest["settings"]["prompt_reps"] == 20
    assert Image.open(out / "object-1" / "0.jpg").size == (64, 64)
    graded = CliRunner().invoke(
        grader_app,
        ["check", str(out), "--task", str(task), "--data", str(ml2025 / "data"), "--models", str(tiny_models)],
    )
    assert graded.exit_code == 0 and "generated with blip-diffusion" in graded.output, graded.output


@pytest.mark.heavy
def test_the_tiny_kit_builds_from_the_command_line_and_generates(tmp_path, ml2025, capsys):
    from generators.testing import main

    main([str(tmp_path / "kit")])
    printed = dict(line.split(maxsplit=1) for line in capsys.readouterr().out.splitlines()[:5])
    assert set(printed) == {"base", "ip-adapter", "lora", "textual-inversion", "custom-diffusion"}
    assert all(Path(p).exists() for p in printed.values())
    task = _small_task(tmp_path)
    common = ["run", "--task", str(task), "--data", str(ml2025 / "data"), "--base", printed["base"], "--steps", "1"]
    for adapter, extra in (
        ("lora", ["--weights", printed["lora"]]),
        ("custom-diffusion", ["--weights", printed["custom-diffusion"], "--token", "<new1>"]),
    ):
        res = CliRunner().invoke(
            generate_app, [*common, "--adapter", adapter, *extra, "--out", str(tmp_path / adapter)]
        )
        assert res.exit_code == 0, res.output
        assert len(list((tmp_path / adapter).rglob("*.jpg"))) == 4


@pytest.mark.heavy  # generates and grades twice per checkpoint kind: runs beside py (tox.ini)
@pytest.mark.parametrize("adapter", ["lora", "textual-inversion"])
def test_a_checkpoint_sweep_generates_and_grades_each_checkpoint(adapter, tmp_path, tiny_sd, ml2025, tiny_models):
    from diffusers import UNet2DConditionModel

    checkpoints = []
    for step in (500, 1000):  # two checkpoints of one training: other weights, the same shapes
        if adapter == "lora":
            unet = UNet2DConditionModel.from_pretrained(tiny_sd / "unet")
            checkpoints.append(build_tiny_lora(tmp_path / f"checkpoint-{step}", unet, seed=step))
        else:
            file = tmp_path / f"learned_embeds-steps-{step}.safetensors"
            checkpoints.append(build_tiny_embedding(file, "<new1>", seed=step))
    task, out = _small_task(tmp_path), tmp_path / "sweep"
    args = ["sweep", "--task", str(task), "--data", str(ml2025 / "data"), "--base", str(tiny_sd), "--steps", "2"]
    args += ["--out", str(out), "--models", str(tiny_models), "--adapter", adapter]
    if adapter == "textual-inversion":
        args += ["--embedding", f"<new1>={checkpoints[0]}", "--prompt-template", "a photo of a <new1> {name}"]
    res = CliRunner().invoke(generate_app, [*args, "--grid", "weights=" + ",".join(map(str, checkpoints))])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "sweep.csv")
    assert sorted(table["weights"].unique()) == [500, 1000] and len(table) == 4
    runs = {}
    for step, checkpoint in zip((500, 1000), checkpoints, strict=True):
        folder = out / f"weights-{step}"
        manifest = json.loads((folder / "manifest.json").read_text())
        recorded = manifest["settings"].get("path") or manifest["settings"]["embeddings"]["<new1>"]
        assert recorded == str(checkpoint)  # each run says which checkpoint made it
        runs[step] = (folder / "object-1" / "0.jpg").read_bytes()
    assert runs[500] != runs[1000]  # the checkpoints were swapped, not the first kept
    assert "recommended for every subject: weights=" in res.output


def test_racing_drops_only_settings_that_cannot_win():
    import pandas as pd

    from generators.racing import rounds, survivors, worst_margin_bounds

    assert rounds(15) == [3, 6, 10, 15] and rounds(4) == [3, 4] and rounds(2) == [2]
    rows = pd.DataFrame(
        [  # per setting and subject: the worst margin's interval
            {"setting": "a", "worst_margin_low": 1.0, "worst_margin_high": 5.0},
            {"setting": "a", "worst_margin_low": 2.0, "worst_margin_high": 3.0},  # a's worst: low 1, high 3
            {"setting": "b", "worst_margin_low": -4.0, "worst_margin_high": 2.0},  # reaches a's low: stays
            {"setting": "c", "worst_margin_low": -9.0, "worst_margin_high": 0.5},  # below a's low 1: dropped
        ]
    )
    bounds = worst_margin_bounds(rows)
    assert bounds == {"a": (1.0, 3.0), "b": (-4.0, 2.0), "c": (-9.0, 0.5)}
    assert survivors(bounds, ["a", "b", "c"]) == ["a", "b"]
    assert survivors({}, ["a", "b"]) == ["a", "b"]  # no lines: nothing to race on


@pytest.mark.heavy
def test_an_adaptive_sweep_generates_the_full_grids_images_and_no_more(tmp_path, tiny_sd, weights, ml2025, tiny_models):
    raw = yaml.safe_load(_small_task(tmp_path).read_text())
    raw["layout"]["images_per_subject"] = 10  # rounds of 3, 4, 7 and 10 images per subject
    task = tmp_path / "ml2025-ten.yaml"
    task.write_text(yaml.safe_dump({**raw, "name": "ml2025-ten"}, sort_keys=False))
    common = ["sweep", "--task", str(task), "--data", str(ml2025 / "data"), "--base", str(tiny_sd), "--steps", "2"]
    common += ["--models", str(tiny_models), "--adapter", "lora", "--weights", str(weights["lora"])]
    common += ["--threshold", "dino=80", "--threshold", "clip_t=-20", "--grid", "lora_scale=0,1,4"]
    full = CliRunner().invoke(generate_app, [*common, "--out", str(tmp_path / "full")])
    raced = CliRunner().invoke(generate_app, [*common, "--out", str(tmp_path / "raced"), "--adaptive"])
    assert full.exit_code == 0 and raced.exit_code == 0, raced.output
    table = pd.read_csv(tmp_path / "raced" / "sweep.csv")
    finished = table[table["dropped_after"].isna()]
    assert (finished["images_per_subject"] == 10).all() and not finished.empty
    for _, row in table[table["dropped_after"].notna()].iterrows():
        assert row["images_per_subject"] == row["dropped_after"] < 10
    generated = sorted((tmp_path / "raced").rglob("*.jpg"))
    assert len(generated) < 60 if len(finished) < 6 else len(generated) == 60
    for image in generated:  # every image is the one the full grid generated: the same seed, the same bytes
        assert image.read_bytes() == (tmp_path / "full" / image.relative_to(tmp_path / "raced")).read_bytes()
    assert f"adaptive: generated {len(generated)} of the full grid's 60 images" in " ".join(raced.output.split())
    full_table = pd.read_csv(tmp_path / "full" / "sweep.csv")
    worst = full_table.groupby("setting")["worst_margin"].min().sort_values(ascending=False)
    chosen = " ".join(full.output.split()).split("recommended for every subject: ")[1].split(" (")[0]
    assert chosen == worst.index[0]
    if worst.iloc[0] - worst.iloc[1] > 0:  # the race ends on the full grid's rule among its survivors
        assert f"recommended for every subject: {chosen} (" in " ".join(raced.output.split())
