"""``adsgen drivelm train|predict|compare`` and ``adsgen bench vlm``: the VLM's commands.

They join the ``drivelm`` group that ``adsgen.drivelm.commands`` registers (created here if absent).
torch / transformers / peft are imported inside the VLM modules' functions only, so loading this module
(as the CLI does on every call) does not load them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from adsgen.drivelm.challenge.choices import ANSWER_KINDS, AnswerKind
from adsgen.drivelm.challenge.formats import CAMERAS, Prediction, write_predictions
from adsgen.drivelm.progress import rich_phases
from adsgen.drivelm.vlm.adapters import ADAPTER_METHODS, AdapterOptions, read_card
from adsgen.drivelm.vlm.bench import run_bench
from adsgen.drivelm.vlm.data import read_samples
from adsgen.drivelm.vlm.depth import DEPTH_NONE
from adsgen.drivelm.vlm.inputs import IMAGE_MODES, InputBuilder
from adsgen.drivelm.vlm.predict import (
    MC_ANSWER_FORMS,
    GenerationOptions,
    answer_questions,
    load_for_inference,
    load_questions,
)
from adsgen.drivelm.vlm.train import EVAL_FILE, LR_SCHEDULES, TrainOptions, compare_evals, train
from adsgen.errors import ConfigError
from adsgen.outputs import check_output

_Choice = TypeVar("_Choice", bound=str)

console = Console(soft_wrap=True)
_DEFAULTS = TrainOptions()  # the training defaults (the measured best recipe) have one source

_BASE = typer.Option(..., "--base", help="Local LLaVA-1.5 / LLaVA-NeXT model folder, or 'tiny' (built and cached).")
_CAMERAS = typer.Option(None, "--cameras", help="Comma-separated camera subset, e.g. CAM_FRONT,CAM_BACK "
                                              "(default: every camera in the file).")
_IMAGE_ROOT = typer.Option(None, "--image-root", help="Folder image paths are relative to (default: the "
                                                    "JSON file's folder).")
_DEPTH = typer.Option("none", "--depth", help="Depth words in the prompt: 'none', 'sim' (depth_m written by "
                                            "adsgen drivelm qa) or a local depth-estimation model folder.")


def _cameras(text: str | None) -> tuple[str, ...] | None:
    if not text:
        return None
    cams = tuple(c.strip() for c in text.split(",") if c.strip())
    bad = [c for c in cams if c not in CAMERAS]
    if bad:
        raise ConfigError(f"--cameras {bad[0]!r}: expected names from {', '.join(CAMERAS)}")
    return cams


def _templates(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    from adsgen.drivelm.qa.generation import TEMPLATES  # lazy: the QA pipeline loads the renderer and engine


    names = tuple(t.strip() for t in text.split(",") if t.strip())
    bad = [t for t in names if t not in TEMPLATES]
    if bad or not names:
        raise ConfigError(f"--templates {text!r}: expected names from {list(TEMPLATES)}")
    return names


def _kinds(text: str | None) -> tuple[AnswerKind, ...] | None:
    if not text:
        return None
    return tuple(_one_of(k.strip(), ANSWER_KINDS, "--kinds") for k in text.split(",") if k.strip())


def _one_of(value: str, choices: tuple[_Choice, ...], option: str) -> _Choice:
    """The choice a command-line value names (typed as the fixed choices); ConfigError (exit 2) otherwise."""
    for choice in choices:
        if value == choice:
            return choice
    raise ConfigError(f"{option} {value!r}: expected one of {', '.join(choices)}")


def train_cmd(
    data: Annotated[Path, typer.Argument(help="Training data: nested DriveLM-nuScenes JSON (images by path).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Adapter folder to write.")],
    base: str = _BASE,
    adapter: str = typer.Option("lora", "--adapter", help="lora or dora."),
    rank: int = typer.Option(16, help="LoRA rank r."),
    alpha: int = typer.Option(32, help="LoRA alpha."),
    dropout: float = typer.Option(0.05, help="LoRA dropout."),
    target_modules: str = typer.Option("q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj",
                                       help="Language-model linear layers to adapt (comma-separated)."),
    train_modules: str = typer.Option("multi_modal_projector", help="Modules trained in full next to the "
                                      "adapter (comma-separated; e.g. multi_modal_projector,vision_tower; "
                                      "'' for none)."),
    depth: str = _DEPTH,
    epochs: int = typer.Option(_DEFAULTS.epochs, help="Passes over the training split."),
    lr: float = typer.Option(_DEFAULTS.lr, help="AdamW learning rate."),
    lr_schedule: str = typer.Option(_DEFAULTS.lr_schedule, "--lr-schedule", help="'cosine' (default): decay "
                                    "to zero over the epochs or the --max-minutes / --max-cpu-minutes budget, "
                                    "whichever ends first; or 'constant' after a short warm-up."),
    batch_size: int = typer.Option(_DEFAULTS.batch_size, help="Questions per forward pass."),
    grad_accum: int = typer.Option(1, help="Forward passes per optimizer step."),
    max_minutes: float = typer.Option(None, help="Stop training after this many minutes (then save, evaluate)."),
    max_cpu_minutes: float = typer.Option(None, help="Stop after this many minutes of the process's CPU time "
                                          "(a budget other jobs on a shared machine do not eat into)."),
    checkpoint_every: int = typer.Option(50, help="Optimizer steps between checkpoints."),
    resume: bool = typer.Option(False, help="Continue from OUT/checkpoint."),
    eval_data: Path = typer.Option(None, "--eval", help="Held-out file (default: hold out scenes of DATA)."),
    held_out: float = typer.Option(0.2, help="Fraction of scenes held out when --eval is not given."),
    images: str = typer.Option("real", help="'real', or 'blank' to black out every camera (image-blind control)."),
    object_crops: bool = typer.Option(_DEFAULTS.object_crops, "--object-crops/--no-object-crops", help="Also show a crop around "
                                      "each object the question tags (recorded in the card; predict follows it)."),
    zoom: bool = typer.Option(_DEFAULTS.zoom, "--zoom/--no-zoom", help="Thinking with images: questions about a "
                              "far object are trained as two turns, first the call '<zoom cN>', then the answer "
                              "with the zoomed crop (recorded in the card; predict follows it; docs/vlm.md)."),
    kinds: str = typer.Option(None, "--kinds", help="Train only on these question kinds (comma-separated: "
                              "multiple_choice, yes_no, open); default all."),
    templates: str = typer.Option(None, "--templates", help="Train and evaluate only on these generator "
                                  "templates (comma-separated 'template' keys of `adsgen drivelm qa` output, e.g. "
                                  "signal_state,pedestrian_ahead,night,poor_visibility); default all."),
    mc_answers: str = typer.Option(_DEFAULTS.mc_answers, "--mc-answers", help="What the model learns to say for "
                                   "multiple choice: 'text' (default: the option's text, read back by scoring "
                                   "each listed option, so the model need not learn which shuffled letter holds "
                                   "it) or 'letter' (\"B\", the challenge's form). Recorded in the card."),
    cameras: str = _CAMERAS,
    image_root: Path = _IMAGE_ROOT,
    seed: int = typer.Option(0, help="Seed of the split, shuffling and the tiny model."),
) -> None:
    """Fine-tune a LLaVA's language model with LoRA or DoRA on DriveLM QA; evaluate on held-out scenes."""
    check_output(out, (data,), folder=True, make_parents=True)

    adapter_options = AdapterOptions(
        method=_one_of(adapter, ADAPTER_METHODS, "--adapter"), rank=rank, alpha=alpha, dropout=dropout,
        target_modules=tuple(m.strip() for m in target_modules.split(",") if m.strip()),
        full_modules=tuple(m.strip() for m in train_modules.split(",") if m.strip()))
    options = TrainOptions(epochs=epochs, lr=lr, batch_size=batch_size, grad_accum=grad_accum, seed=seed,
                           held_out_fraction=held_out, max_minutes=max_minutes, max_cpu_minutes=max_cpu_minutes, checkpoint_every=checkpoint_every,
                           depth=depth, images=_one_of(images, IMAGE_MODES, "--images"), cameras=_cameras(cameras),
                           answer_kinds=_kinds(kinds), object_crops=object_crops,
                           templates=_templates(templates),
                           mc_answers=_one_of(mc_answers, MC_ANSWER_FORMS, "--mc-answers"),
                           lr_schedule=_one_of(lr_schedule, LR_SCHEDULES, "--lr-schedule"), zoom=zoom)
    result = train(data, base, adapter_options, options, out, eval_data=eval_data, image_root=image_root,
                   resume=resume, console=console)
    console.print(f"trained {result.steps} steps ({result.epochs_done:.2f} epochs) in {result.minutes:.1f} min "
                  f"({result.cpu_minutes:.1f} CPU-min), "
                  f"final loss {result.final_loss:.3f}; adapter and eval.json in {result.out}")


def predict_cmd(
    questions: Annotated[Path, typer.Argument(help="Questions: flattened [{id, image, conversations}] or nested.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Predictions file [{id, question, answer}].")],
    base: str = typer.Option(None, "--base", help="Local LLaVA-1.5 / LLaVA-NeXT model folder, or 'tiny' "
                             "(default with --adapter: the base its card names)."),
    adapter: Path = typer.Option(None, "--adapter", help="Adapter folder written by adsgen drivelm train."),
    cot: bool = typer.Option(False, "--cot", help="Chain-of-thought on multiple-choice and yes/no questions."),
    object_crops: bool = typer.Option(None, "--object-crops/--no-object-crops", help="Show object crops (default: "
                                      "as the adapter was trained)."),
    zoom: bool = typer.Option(None, "--zoom/--no-zoom", help="Let the model ask for a zoomed crop ('<zoom cN>' or "
                              "'<zoom CAM,x0,y0,x1,y1>') and answer in a second turn with it (default: as the "
                              "adapter was trained)."),
    depth: str = typer.Option(None, "--depth", help="Depth words: 'none', 'sim' or a local depth-estimation "
                              "model folder (default: as the adapter was trained, else 'none')."),
    batch_size: int = typer.Option(8, help="Questions per generate() call."),
    max_new_tokens: int = typer.Option(64, help="Token budget for open questions."),
    cot_new_tokens: int = typer.Option(128, help="Token budget for reasoning + answer with --cot."),
    cameras: str = _CAMERAS,
    image_root: Path = _IMAGE_ROOT,
) -> None:
    """Answer DriveLM questions; multiple-choice / yes-no answers in the exact form the metric compares."""
    check_output(out, (questions, adapter))  # before any model, as the questions are
    chosen = _cameras(cameras) if cameras else _trained_with(adapter, "cameras", None)  # as trained by default
    samples = load_questions(questions, cameras=chosen, image_root=image_root)  # before any model
    if depth is None:
        depth = str(_trained_with(adapter, "depth", DEPTH_NONE))
    if object_crops is None:
        object_crops = bool(_trained_with(adapter, "object_crops", False))
    if zoom is None:
        zoom = bool(_trained_with(adapter, "zoom", False))
    mc_answers = _one_of(str(_trained_with(adapter, "mc_answers", "letter")), MC_ANSWER_FORMS, "the card's mc_answers")
    builder = InputBuilder(depth=depth, cot=cot, object_crops=object_crops, zoom=zoom)
    options = GenerationOptions(batch_size=batch_size, max_new_tokens=max_new_tokens, cot_new_tokens=cot_new_tokens)
    with rich_phases(console) as phases:  # load model, answer, (zoom turn), score options
        vlm = load_for_inference(base, adapter, lambda: [builder.text(s) for s in samples], progress=phases)
        context = builder.bind(vlm).context
        rows, fallbacks = answer_questions(vlm, samples, builder, options, mc_answers=mc_answers, progress=phases)
    write_predictions([Prediction(r["id"], r["answer"], r["question"]) for r in rows], out)
    for dropped, n in builder.layouts.most_common():
        console.print(f"{n} question(s) laid out to fit the model's context of {context} tokens: "
                      f"{dropped}")
    if zoom:
        console.print(f"{len(builder.zoom_calls)} question(s) answered in two turns after a zoom call")
    if mc_answers == "text":
        console.print("multiple-choice answers: the letter of the listed option whose text the model finds "
                      "most likely (the adapter was trained on option texts)")
    console.print(f"wrote {len(rows)} answers to {out}; {fallbacks} multiple-choice / yes-no answers had no "
                  "exact form in the generated text and were chosen by the model's likelihood of each option")


def bench_vlm_cmd(
    json_out: Path = typer.Option(None, "--json", help="Write the figures as JSON."),
    steps: int = typer.Option(10, help="Training steps timed."),
    batch_size: int = typer.Option(4, help="Questions per step."),
    gpu_config: bool = typer.Option(True, help="On CUDA, also time a LLaVA-7B-sized config with random bf16 "
                                    "weights."),
) -> None:
    """Tokens/s and peak memory of training and inference (tiny model on CPU; LLaVA-sized on CUDA)."""
    run_bench(json_out, steps=steps, batch_size=batch_size, gpu_config=gpu_config, console=console)


def compare_cmd(
    first: Annotated[Path, typer.Argument(help="eval.json of one training run (or its adapter folder, or predict's output).")],
    second: Annotated[Path, typer.Argument(help="eval.json of the other run (or its adapter folder, or predict's output).")],
    gt: Path = typer.Option(..., "--gt", help="The held-out file both were evaluated on (nested, with answers)."),
    json_out: Path = typer.Option(None, "--json", help="Also write the figures as JSON."),
) -> None:
    """Two runs' held-out answers question by question: accuracy and McNemar's exact test, on every accuracy
    question and on the far-object ones (a tagged object at a 'far' depth)."""
    first, second = (p / EVAL_FILE if p.is_dir() else p for p in (first, second))
    if json_out is not None:
        check_output(json_out, (first, second, gt))
    result = compare_evals(first, second, read_samples(gt))
    for name, r in result.items():
        if not r["count"]:
            console.print(f"{name}: no questions")
            continue
        console.print(f"{name} ({r['count']} questions): first {100 * r['first']:.1f}%, second "
                      f"{100 * r['second']:.1f}%; right only by the first {r['first_only_right']}, only by the "
                      f"second {r['second_only_right']} (McNemar exact p = {r['p_value']:.2g})", highlight=False)
    if json_out is not None:
        json_out.write_text(json.dumps(result, indent=2))


def _trained_with(adapter: Path | None, option: str, default: Any) -> Any:
    """A training option recorded in the adapter's card (default without an adapter or the key)."""
    if adapter is None:
        return default

    return read_card(adapter).training.get(option, default)


def _drivelm_group(app: typer.Typer) -> typer.Typer:
    for group in app.registered_groups:
        if group.name == "drivelm" and group.typer_instance is not None:
            return group.typer_instance
    group_app = typer.Typer(help="DriveLM and the VLM.", no_args_is_help=True)
    app.add_typer(group_app, name="drivelm")
    return group_app


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    group = _drivelm_group(app)
    group.command("train")(train_cmd)
    group.command("predict")(predict_cmd)
    group.command("compare")(compare_cmd)
    bench_app.command("vlm")(bench_vlm_cmd)


__all__ = ["register"]
