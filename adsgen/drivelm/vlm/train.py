"""Fine-tuning a LLaVA on DriveLM QA with a LoRA / DoRA adapter (``adsgen drivelm train``).

The loss is on the answer tokens only (the prompt, the images' tokens and padding are masked with -100).
Checkpoints (adapter + optimizer + position) are written every ``checkpoint_every`` optimizer steps and at
the end of each epoch; ``resume=True`` continues from the last one. At the end the adapter is saved (and
reloaded to check the logits), then evaluated on held-out scenes: accuracy on multiple-choice and yes/no
questions, next to the image-blind baseline (the majority answer per question template in the training
split). On CUDA the weights are bf16 and gradient checkpointing is on.
"""

from __future__ import annotations

import json
import math
import pickle
import random
import shutil
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from adsgen.drivelm.challenge.choices import AnswerKind
from adsgen.drivelm.challenge.formats import CAMERAS, read_json
from adsgen.drivelm.progress import Advance, rich_phases
from adsgen.drivelm.vlm.adapters import AdapterOptions, make_card, save_adapter, wrap
from adsgen.drivelm.vlm.budget import prepare_images
from adsgen.drivelm.vlm.data import Sample, check_images, read_samples, split_by_scene
from adsgen.drivelm.vlm.depth import DEPTH_NONE, tags_in
from adsgen.drivelm.vlm.inputs import ImageMode, InputBuilder
from adsgen.drivelm.vlm.model import VLM, inspect_base, load_base, prompt_text, require_vlm
from adsgen.drivelm.vlm.predict import MC_ANSWER_FORMS, GenerationOptions, McAnswerForm, answer_questions
from adsgen.drivelm.vlm.prompts import MC, YES_NO, options_of, question_kind, template_of
from adsgen.drivelm.vlm.tiny import TINY, ensure_tiny
from adsgen.drivelm.vlm.zoom import FAR_FROM_M, far_tag, parse_zoom, zoom_target
from adsgen.errors import ConfigError, InputError
from adsgen.provenance import file_fingerprint

CHECKPOINT_DIR = "checkpoint"
STATE_FILE = "trainer_state.pt"
EVAL_FILE = "eval.json"
BASE_DIR = "base"  # where a tiny base is copied, so the adapter folder is self-contained
IGNORE = -100  # label of tokens outside the answer
TAG_CELL_PX = (400.0, 300.0)  # [px] cells of the position-aware baseline in the 1600x900 tag frame (4 x 3)
MIN_CELL_QUESTIONS = 3  # fewer training questions in a cell: the position-aware baseline uses the template's
LrSchedule = Literal["constant", "cosine"]
LR_SCHEDULES: tuple[LrSchedule, ...] = get_args(LrSchedule)


@dataclass(frozen=True)
class TrainOptions:
    """Training hyper-parameters and data options."""

    epochs: int = 3
    """Passes over the training split."""
    lr: float = 1e-3
    """AdamW learning rate (after a linear warm-up over warmup_steps)."""
    batch_size: int = 4
    """Questions per forward pass (4: the measured best recipe, docs/vlm.md)."""
    grad_accum: int = 1
    """Forward passes per optimizer step."""
    warmup_steps: int = 10
    """Optimizer steps of linear learning-rate warm-up."""
    lr_schedule: LrSchedule = "cosine"
    """'cosine' (the measured best recipe) or 'constant' after the warm-up. 'cosine': decay to zero over the run, whichever of the planned steps
    (epochs) or the time budget (max_minutes / max_cpu_minutes) runs out first sets the progress."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    seed: int = 0
    """Seed of shuffling, the split and the tiny model's weights."""
    held_out_fraction: float = 0.2
    """Fraction of scenes held out for evaluation (when no separate eval file is given)."""
    max_minutes: float | None = None
    """Stop training (and save) after this many minutes of wall time."""
    max_cpu_minutes: float | None = None
    """Stop training after this many minutes of this process's CPU time (all threads): a budget that other
    jobs on a shared machine do not eat into (5 min on 2 free cores is about 10 CPU-minutes)."""
    checkpoint_every: int = 50
    """Optimizer steps between checkpoints."""
    depth: str = DEPTH_NONE
    """'none', 'sim' or a depth-estimation model folder."""
    images: ImageMode = "real"
    """'real' or 'blank' (the image-blind control)."""
    cameras: tuple[str, ...] | None = None
    """Camera subset (None: every camera in the file)."""
    object_crops: bool = True
    """Show the model a crop around each tagged object next to the cameras (see InputBuilder; the measured
    best recipe)."""
    zoom: bool = False
    """Thinking with images (adsgen.drivelm.vlm.zoom): a question about a far object is trained as two turns,
    first the zoom call, then (with the served crop) the answer; near objects are answered directly."""
    answer_kinds: tuple[AnswerKind, ...] | None = None
    """Train only on these question kinds ('multiple_choice', 'yes_no', 'open'); None: all."""
    templates: tuple[str, ...] | None = None
    """Train and evaluate only on questions of these generator templates (``adsgen drivelm qa``'s
    ``template`` key, e.g. the image questions); None: all."""
    mc_answers: McAnswerForm = "text"
    """What the model learns to say for a multiple-choice question: 'text' (the right option's text, "Going
    ahead."; the measured best recipe) or 'letter' (the challenge's form, "B"). With 'text' the answer is read back by scoring each
    listed option's text and taking the most likely one's letter (predict and the agent follow the card):
    the model learns what is in the scene, not which shuffled letter holds it."""
    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "grad_accum", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"training option {name}={getattr(self, name)}: must be >= 1")
        if not self.lr > 0:
            raise ConfigError(f"training option lr={self.lr}: must be > 0")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ConfigError(f"lr_schedule={self.lr_schedule!r}: expected one of {LR_SCHEDULES}")
        if self.mc_answers not in MC_ANSWER_FORMS:
            raise ConfigError(f"mc_answers={self.mc_answers!r}: expected one of {MC_ANSWER_FORMS}")
        if not 0 < self.held_out_fraction < 1:
            raise ConfigError(f"held_out_fraction={self.held_out_fraction}: expected 0 < f < 1")


@dataclass
class Example:
    """One tokenised training question."""

    input_ids: Any  # (L,) prompt (with expanded image tokens) + answer + eos
    labels: Any  # (L,) IGNORE on the prompt, the answer's ids on the answer
    frame_key: str
    n_images: int


@dataclass
class Encoded:
    """The tokenised training set: its examples, each frame's image tensors once, the padding token id."""

    examples: list[Example]
    frames: dict[str, dict[str, Any]]
    pad_id: int

    def batch(self, idx: Sequence[int], vlm: VLM) -> dict[str, Any]:
        """The collated batch of these examples on the model's device."""
        return collate([self.examples[i] for i in idx], self.frames, self.pad_id, vlm.device, vlm.dtype)


def _image_tensors(enc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in enc.items() if k not in ("input_ids", "attention_mask")}


def target_text(sample: Sample, mc_answers: McAnswerForm = "letter") -> str:
    """What the model is trained to say: the answer, or for multiple choice with mc_answers='text' the
    text of the option its letter names."""
    answer = (sample.answer or "").strip()
    if mc_answers == "text":
        return options_of(sample.question).get(answer, answer)
    return answer


def encode_examples(vlm: VLM, samples: Sequence[Sample], builder: InputBuilder, mc_answers: McAnswerForm = "letter",
                    progress: Advance | None = None) -> tuple[list[Example], dict[str, dict[str, Any]]]:
    """Tokenise the training samples; image tensors are kept once per frame (shared by its questions).
    ``progress`` is advanced by one per sample."""
    torch, _ = require_vlm()
    tokenizer = vlm.processor.tokenizer
    context = builder.budget.context if builder.budget is not None else None  # answers cut to fit (rare)
    examples: list[Example] = []
    frames: dict[str, dict[str, Any]] = {}

    def add(text: str, images: list[Any], key: str, target: str) -> None:
        prompt = prompt_text(vlm.processor, text, len(images))
        enc = vlm.processor(text=[prompt], images=prepare_images(vlm.processor, images), return_tensors="pt")
        frames.setdefault(key, _image_tensors(enc))
        answer_ids = tokenizer(" " + target, add_special_tokens=False)["input_ids"]
        prompt_ids = enc["input_ids"][0]  # (P,)
        room = (context - len(prompt_ids) - 1) if context else len(answer_ids)
        answer = torch.tensor(answer_ids[:max(room, 0)] + [tokenizer.eos_token_id], dtype=torch.long)  # (A,)
        examples.append(Example(input_ids=torch.cat([prompt_ids, answer]),
                                labels=torch.cat([torch.full_like(prompt_ids, IGNORE), answer]),
                                frame_key=key, n_images=len(images)))

    for s in samples:
        images = builder.load_images(s)
        key = f"{s.frame_key}|{','.join(s.cameras)}|{len(images)}|{builder.layout(s)}"
        if builder.object_crops:
            key += "|" + " ".join(tags_in(s.question))
        call = parse_zoom(zoom_target(s) or "", s) if builder.zoom else None
        if call is None:
            add(builder.text(s), images, key, target_text(s, mc_answers))
        else:
            add(builder.text(s), images, key, call.text)  # first turn: ask for the zoom
            text, zoomed = builder.second_turn(s, call)  # second turn: the answer, with the crop
            add(text, zoomed, f"{key}|{len(zoomed)}|{call.text}", target_text(s, mc_answers))
        if progress is not None:
            progress(1)
    return examples, frames


def collate(examples: Sequence[Example], frames: dict[str, dict[str, Any]], pad_id: int, device: str,
            dtype: Any) -> dict[str, Any]:
    """Right-padded batch: input_ids, attention_mask, labels (B, L) and the images' tensors."""
    torch, _ = require_vlm()
    length = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), length), pad_id, dtype=torch.long)  # (B, L)
    labels = torch.full((len(examples), length), IGNORE, dtype=torch.long)  # (B, L)
    mask = torch.zeros((len(examples), length), dtype=torch.long)  # (B, L)
    for i, e in enumerate(examples):
        ids[i, :len(e.input_ids)] = e.input_ids
        labels[i, :len(e.labels)] = e.labels
        mask[i, :len(e.input_ids)] = 1
    batch: dict[str, Any] = {"input_ids": ids.to(device), "attention_mask": mask.to(device),
                             "labels": labels.to(device)}
    for key in frames[examples[0].frame_key]:
        stacked = torch.cat([frames[e.frame_key][key] for e in examples])  # (images in batch, ...)
        batch[key] = stacked.to(device, dtype=dtype) if stacked.is_floating_point() else stacked.to(device)
    return batch


def _answer_key(s: Sample) -> str | None:
    """What a training answer says: the option's text for multiple choice (options are shuffled per
    question, so the letter alone carries no prior), else the answer itself."""
    if s.answer is None:
        return None
    options = options_of(s.question)
    return options.get(s.answer.strip(), s.answer) if options else s.answer


def tag_cells(question: str) -> str:
    """Where the question's tagged objects are, coarsely: camera and cell of a 4 x 3 grid over the 1600x900
    tag frame per tag ('' without tags). The tags' coordinates are text a blind model can read."""
    cells = []
    for tag in tags_in(question):
        _, camera, x, y = tag.strip("<>").split(",")
        cells.append(f"{camera}:{min(int(float(x) // TAG_CELL_PX[0]), 3)}:{min(int(float(y) // TAG_CELL_PX[1]), 2)}")
    return "|".join(cells)


def majority_baseline(train: Sequence[Sample], held: Sequence[Sample], by_position: bool = False
                      ) -> dict[str, Any]:
    """Image-blind baseline: per question template, the training split's most common answer; for multiple
    choice, the listed option whose text was most often the right one (its letter).

    ``by_position``: per template *and* the tagged objects' coarse image position (``tag_cells``), which
    the question text gives away (DriveLM tags carry pixel coordinates); a cell with fewer than
    MIN_CELL_QUESTIONS training questions falls back to the template."""
    def cell_of(s: Sample) -> tuple[str, str]:
        return template_of(s.question), tag_cells(s.question)

    by_cell: dict[tuple[str, str], Counter] = defaultdict(Counter)
    by_template: dict[str, Counter] = defaultdict(Counter)
    by_kind: dict[str, Counter] = defaultdict(Counter)
    for s in train:
        template, key = template_of(s.question), _answer_key(s)
        by_template[template][key] += 1
        by_kind[question_kind(s.question, s.answer)][key] += 1
        if by_position:
            by_cell[cell_of(s)][key] += 1
    rows = []
    for s in held:
        cell = by_cell.get(cell_of(s)) if by_position else None
        if cell is not None and sum(cell.values()) < MIN_CELL_QUESTIONS:
            cell = None
        counts = cell or by_template.get(template_of(s.question)) or \
            by_kind.get(question_kind(s.question, s.answer)) or Counter()
        options = options_of(s.question)
        if options:
            letter = max(options, key=lambda k: (counts.get(options[k], 0), -ord(k)))
            answer = letter
        else:
            answer = counts.most_common(1)[0][0] if counts else ""
        rows.append({"id": s.id, "question": s.question, "answer": answer})
    return {"predictions": rows}


def accuracy(samples: Sequence[Sample], rows: Sequence[dict[str, str]]) -> dict[str, Any]:
    """Exact-match accuracy on the multiple-choice and yes/no questions (the challenge's accuracy rule)."""
    by_id = {r["id"]: r["answer"] for r in rows}
    per_kind: dict[str, list[int]] = defaultdict(list)
    per_template: dict[str, list[int]] = defaultdict(list)
    for s in samples:
        kind = question_kind(s.question, s.answer)
        if kind in (MC, YES_NO):
            per_kind[kind].append(int(by_id.get(s.id) == s.answer))
            if s.template is not None:
                per_template[s.template].append(per_kind[kind][-1])
    every = [v for vals in per_kind.values() for v in vals]
    return {"accuracy": sum(every) / len(every) if every else None, "count": len(every),
            "by_kind": {k: {"accuracy": sum(v) / len(v), "count": len(v)} for k, v in sorted(per_kind.items())},
            "by_template": {k: {"accuracy": sum(v) / len(v), "count": len(v)}
                            for k, v in sorted(per_template.items())}}


def paired_comparison(samples: Sequence[Sample], model_rows: Sequence[dict[str, str]],
                      baseline_rows: Sequence[dict[str, str]]) -> dict[str, Any]:
    """McNemar's exact test of the model against the baseline on the same accuracy questions: how many
    only the model got right, how many only the baseline did, and the two-sided p-value of that split
    (a binomial test on the discordant questions), so "above the baseline" comes with its odds of chance."""
    from scipy.stats import binomtest

    model = {r["id"]: r["answer"] for r in model_rows}
    baseline = {r["id"]: r["answer"] for r in baseline_rows}
    only_model = only_baseline = 0
    for s in accuracy_samples(samples):
        m, b = model.get(s.id) == s.answer, baseline.get(s.id) == s.answer
        only_model += int(m and not b)
        only_baseline += int(b and not m)
    discordant = only_model + only_baseline
    p = binomtest(only_model, discordant, 0.5).pvalue if discordant else 1.0
    return {"model_only_right": only_model, "baseline_only_right": only_baseline, "p_value": float(p)}


def accuracy_samples(samples: Sequence[Sample]) -> list[Sample]:
    return [s for s in samples if question_kind(s.question, s.answer) in (MC, YES_NO)]


def _select(samples: list[Sample], kinds: tuple[AnswerKind, ...] | None) -> list[Sample]:
    if kinds is None:
        return samples
    return [s for s in samples if question_kind(s.question, s.answer) in kinds]


def _select_templates(samples: list[Sample], templates: tuple[str, ...] | None) -> list[Sample]:
    if templates is None:
        return samples
    return [s for s in samples if s.template in templates]


@dataclass
class TrainResult:
    out: Path
    steps: int
    epochs_done: float
    final_loss: float | None
    minutes: float
    cpu_minutes: float
    eval: dict[str, Any]
    report_lines: list[str]


def _lr_at(step: int, options: TrainOptions, progress: float = 0.0) -> float:
    """Learning rate at an optimizer step: linear warm-up, then constant or cosine over ``progress``
    (0 at the start, 1 at the end of the run's steps or time budget)."""
    warm = min(1.0, (step + 1) / max(options.warmup_steps, 1))
    if options.lr_schedule == "cosine":
        return options.lr * warm * 0.5 * (1.0 + math.cos(math.pi * min(max(progress, 0.0), 1.0)))
    return options.lr * warm


def _progress(step: int, total_steps: int, options: TrainOptions, wall_s: float, cpu_s: float) -> float:
    """How far the run is: the larger of the steps done and each time budget used (0..1)."""
    parts = [step / max(total_steps, 1)]
    if options.max_minutes is not None:
        parts.append(wall_s / (60.0 * options.max_minutes))
    if options.max_cpu_minutes is not None:
        parts.append(cpu_s / (60.0 * options.max_cpu_minutes))
    return min(1.0, max(parts))


def _read_sets(data: str | Path, options: TrainOptions, eval_data: str | Path | None,
               image_root: str | Path | None) -> tuple[list[Sample], list[Sample]]:
    """(training, held-out) samples with answers, images checked, kinds and templates selected."""
    samples = [s for s in read_samples(data, cameras=options.cameras, image_root=image_root)
               if s.answer is not None]
    if not samples:
        raise InputError(f"{data}: no question with an answer to train on")
    check_images(samples, data)
    if eval_data is not None:
        train_set = samples
        held = [s for s in read_samples(eval_data, cameras=options.cameras, image_root=image_root)
                if s.answer is not None]
        check_images(held, eval_data)
    else:
        train_set, held = split_by_scene(samples, options.held_out_fraction, options.seed)
    train_set = _select_templates(_select(train_set, options.answer_kinds), options.templates)
    held = _select_templates(held, options.templates)
    if not train_set:
        raise InputError(f"{data}: no training question of the kinds {options.answer_kinds}"
                         + (f" and templates {list(options.templates)}" if options.templates else ""))
    return train_set, held


def train(data: str | Path, base: str, adapter_options: AdapterOptions, options: TrainOptions, out: str | Path, *,
          eval_data: str | Path | None = None, image_root: str | Path | None = None, resume: bool = False,
          console: Any = None) -> TrainResult:
    """Train an adapter on ``data`` (nested DriveLM JSON); save it under ``out``; evaluate on held-out scenes."""
    out = Path(out)
    train_set, held = _read_sets(data, options, eval_data, image_root)
    builder = InputBuilder(depth=options.depth, images=options.images, object_crops=options.object_crops,
                           zoom=options.zoom)  # checks the depth model path
    base_path = _prepare_base(base, train_set, builder, out, options.seed)
    _say(console, f"base: {base_path}")
    torch, _ = require_vlm("training")
    torch.manual_seed(options.seed)
    with rich_phases(console, enabled=console is not None) as phases:
        step = phases("load model", 1)
        vlm = load_base(base_path)
        step(1)
    if vlm.device == "cpu":
        _say(console, f"CPU threads: {torch.get_num_threads()} (cores free at the start; ADSGEN_THREADS=N sets it)")
    wrapped, report = wrap(vlm.model, adapter_options)
    vlm.model = wrapped
    for line in report.lines():
        _say(console, line)
    if vlm.device == "cuda":
        wrapped.enable_input_require_grads()
        wrapped.gradient_checkpointing_enable()
    context = builder.bind(vlm).context
    with rich_phases(console, enabled=console is not None) as phases:
        examples, frames = encode_examples(vlm, train_set, builder, options.mc_answers,
                                           progress=phases("encode training questions", len(train_set)))
    for dropped, n in builder.layouts.most_common():
        _say(console, f"{n} training question(s) laid out to fit the context of {context} tokens: {dropped}")
    encoded = Encoded(examples, frames, vlm.processor.tokenizer.pad_token_id)
    params = [p for p in wrapped.parameters() if p.requires_grad]
    optim = torch.optim.AdamW(params, lr=options.lr, weight_decay=options.weight_decay)
    steps_per_epoch = math.ceil(len(examples) / (options.batch_size * options.grad_accum))
    state: dict[str, Any] = {"step": 0, "epoch": 0, "batch_in_epoch": 0, "loss": None}
    ckpt = out / CHECKPOINT_DIR
    if resume and (ckpt / STATE_FILE).is_file():
        state = _load_checkpoint(wrapped, optim, ckpt)
        _say(console, f"resumed from {ckpt} at step {state['step']} (epoch {state['epoch']})")
    fingerprint = file_fingerprint(data)
    start, cpu_start = time.monotonic(), time.process_time()
    stopped_early = _train_loop(wrapped, optim, encoded, vlm, options, state, steps_per_epoch, ckpt, start, console)
    minutes = (time.monotonic() - start) / 60.0
    cpu_minutes = (time.process_time() - cpu_start) / 60.0
    check = encoded.batch(range(min(2, len(examples))), vlm)
    check.pop("labels")
    training_info = {**{k: v for k, v in asdict(options).items()}, "steps": state["step"],
                     "epochs_done": state["epoch"] + state["batch_in_epoch"] / max(steps_per_epoch, 1),
                     "final_loss": state["loss"], "minutes": round(minutes, 2), "cpu_minutes": round(cpu_minutes, 2), "stopped_early": stopped_early,
                     "train_questions": len(examples), "held_out_questions": len(held),
                     "trainable_params": report.trainable_params,
                     # what the model saw, for the agent to drive as trained (adsgen.drivelm.vlm.agent)
                     "trained_cameras": [c for c in CAMERAS if any(c in s.cameras for s in train_set)],
                     "image_size_px": list(builder.camera_images(train_set[0])[0].size)}
    card = make_card(inspect_base(base_path), adapter_options, fingerprint, training_info, folder=out)
    save_adapter(wrapped, out, card, check)
    _say(console, f"adapter saved to {out} (reload check passed)")
    _say(console, f"held-out evaluation: {len(accuracy_samples(held))} questions (after training: not counted in "
                  "--max-minutes / --max-cpu-minutes)")
    result = evaluate(vlm, train_set, held, builder, console, mc_answers=options.mc_answers)
    for line in below_baseline_hints(result, options):
        _say(console, line)
    card.training["eval"] = {k: result[k] for k in ("model", "baseline")}
    (out / "adapter_card.json").write_text(json.dumps(asdict(card), indent=2))
    (out / EVAL_FILE).write_text(json.dumps(result, indent=2))
    return TrainResult(out=out, steps=state["step"], epochs_done=training_info["epochs_done"],
                       final_loss=state["loss"], minutes=minutes, cpu_minutes=cpu_minutes, eval=result, report_lines=report.lines())


def _say(console: Any, text: str) -> None:
    if console is not None:
        console.print(text, highlight=False)


def _prepare_base(base: str, train_set: Sequence[Sample], builder: InputBuilder, out: Path, seed: int) -> str:
    if base != TINY:
        inspect_base(base)
        return base

    corpus = [builder.text(s) for s in train_set] + [s.answer or "" for s in train_set]
    cached = ensure_tiny(corpus, seed=seed)
    target = out / BASE_DIR
    if not target.is_dir():
        shutil.copytree(cached, target)
    return str(target)


def _train_loop(wrapped: Any, optim: Any, encoded: Encoded, vlm: VLM, options: TrainOptions, state: dict[str, Any],
                steps_per_epoch: int, ckpt: Path, start: float, console: Any) -> bool:
    """Run the epochs from ``state``; returns True when stopped by max_minutes."""
    torch, _ = require_vlm()
    wrapped.train()
    cpu_start = time.process_time()
    total = steps_per_epoch * options.epochs
    per_step = options.batch_size * options.grad_accum
    with Progress(TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(), TextColumn("loss {task.fields[loss]}"),
                  TimeElapsedColumn(), console=console, disable=console is None) as bar:
        task = bar.add_task("train", total=total, completed=state["step"], loss="-")
        while state["epoch"] < options.epochs:
            order = list(range(len(encoded.examples)))
            random.Random(options.seed * 1000 + state["epoch"]).shuffle(order)
            for b in range(state["batch_in_epoch"], steps_per_epoch):
                chunk = order[b * per_step:(b + 1) * per_step]
                for group in optim.param_groups:
                    group["lr"] = _lr_at(state["step"], options, _progress(
                        state["step"], total, options, time.monotonic() - start, time.process_time() - cpu_start))
                optim.zero_grad(set_to_none=True)
                loss_sum = 0.0
                micro = [chunk[i:i + options.batch_size] for i in range(0, len(chunk), options.batch_size)]
                for idx in micro:
                    batch = encoded.batch(idx, vlm)
                    loss = wrapped(**batch).loss
                    (loss * len(idx) / len(chunk)).backward()
                    loss_sum += loss.item() * len(idx) / len(chunk)
                torch.nn.utils.clip_grad_norm_([p for p in wrapped.parameters() if p.requires_grad], 1.0)
                optim.step()
                state["step"] += 1
                state["batch_in_epoch"] = b + 1
                state["loss"] = loss_sum if state["loss"] is None else 0.9 * state["loss"] + 0.1 * loss_sum
                bar.update(task, advance=1, loss=f"{state['loss']:.3f}")
                if state["step"] % options.checkpoint_every == 0:
                    _save_checkpoint(wrapped, optim, ckpt, state)
                if (options.max_minutes is not None and time.monotonic() - start > 60.0 * options.max_minutes) or \
                        (options.max_cpu_minutes is not None and time.process_time() - cpu_start > 60.0 * options.max_cpu_minutes):
                    _save_checkpoint(wrapped, optim, ckpt, state)
                    return True
            state["epoch"] += 1
            state["batch_in_epoch"] = 0
            _save_checkpoint(wrapped, optim, ckpt, state)
    return False


def _save_checkpoint(wrapped: Any, optim: Any, ckpt: Path, state: dict[str, Any]) -> None:
    torch, _ = require_vlm()
    ckpt.mkdir(parents=True, exist_ok=True)
    wrapped.save_pretrained(str(ckpt), safe_serialization=True)
    torch.save({"optimizer": optim.state_dict(), **state}, ckpt / (STATE_FILE + ".tmp"))
    (ckpt / (STATE_FILE + ".tmp")).replace(ckpt / STATE_FILE)


def _load_checkpoint(wrapped: Any, optim: Any, ckpt: Path) -> dict[str, Any]:
    torch, _ = require_vlm()
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    saved = read_trainer_state(ckpt / STATE_FILE)
    set_peft_model_state_dict(wrapped, load_file(str(ckpt / "adapter_model.safetensors")))
    optim.load_state_dict(saved.pop("optimizer"))
    return saved


def read_trainer_state(path: Path) -> dict[str, Any]:
    """A checkpoint's optimizer state and counters, loaded as data only (torch's weights_only unpickler: tensors,
    numbers, strings, lists, dicts). A file holding anything else (a planted pickle) runs nothing and is one
    InputError."""
    torch, _ = require_vlm()

    try:
        saved = torch.load(path, weights_only=True, map_location="cpu")
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise InputError(f"{path}: not a trainer state written by adsgen drivelm train ({first}); "
                         f"delete {path.parent} to train from the start") from None
    if not isinstance(saved, dict) or "optimizer" not in saved or "step" not in saved:
        raise InputError(f"{path}: not a trainer state written by adsgen drivelm train (expected a dict with "
                         f"'optimizer' and 'step'); delete {path.parent} to train from the start")
    return saved


def evaluate(vlm: VLM, train_set: Sequence[Sample], held: Sequence[Sample], builder: InputBuilder,
             console: Any = None, options: GenerationOptions = GenerationOptions(), *,
             mc_answers: McAnswerForm = "letter") -> dict[str, Any]:
    """Held-out accuracy of the model and of the image-blind majority-per-template baseline."""
    scored = accuracy_samples(held)
    vlm.model.eval()
    with rich_phases(console, enabled=console is not None) as phases:  # held-out: answer, (zoom turn), score options
        rows, fallbacks = answer_questions(vlm, scored, builder, options, mc_answers=mc_answers,
                                           progress=lambda name, total: phases(f"held-out: {name}", total))
    model_acc = accuracy(scored, rows)
    model_acc["likelihood_fallbacks"] = fallbacks
    far = [s for s in scored if far_tag(s) is not None]  # questions about a far object (adsgen.drivelm.vlm.zoom)
    model_acc["far_objects"] = {**accuracy(far, rows), "ids": [s.id for s in far],
                                "zoom_calls": sum(s.id in builder.zoom_calls for s in far)}
    model_acc["zoom_calls"] = len([s for s in scored if s.id in builder.zoom_calls])
    model_acc["mc_answers"] = mc_answers
    base_rows = majority_baseline(train_set, scored)["predictions"]
    base_acc = accuracy(scored, base_rows)
    paired = paired_comparison(scored, rows, base_rows)
    pos_rows = majority_baseline(train_set, scored, by_position=True)["predictions"]
    pos_acc = accuracy(scored, pos_rows)
    pos_paired = paired_comparison(scored, rows, pos_rows)
    _say(console, f"held-out accuracy (multiple-choice + yes/no, {model_acc['count']} questions): "
                  f"model {_pct(model_acc['accuracy'])}, image-blind majority-per-template baseline "
                  f"{_pct(base_acc['accuracy'])}; right only by the model {paired['model_only_right']}, only by "
                  f"the baseline {paired['baseline_only_right']} (McNemar exact p = {paired['p_value']:.2g})")
    if far:
        far_acc = model_acc["far_objects"]
        _say(console, f"far-object questions (a tagged object {FAR_FROM_M:g} m or more away): {far_acc['count']}, model "
                      f"{_pct(far_acc['accuracy'])}" + (f"; zoom calls {far_acc['zoom_calls']} of them, "
                                                         f"{model_acc['zoom_calls']} in all" if builder.zoom else ""))
    _say(console, f"image-blind majority per template and tagged position: {_pct(pos_acc['accuracy'])}; right "
                  f"only by the model {pos_paired['model_only_right']}, only by it "
                  f"{pos_paired['baseline_only_right']} (p = {pos_paired['p_value']:.2g})")
    return {"model": model_acc, "baseline": base_acc, "paired": paired, "baseline_by_position": pos_acc,
            "paired_by_position": pos_paired, "images": builder.images, "depth": builder.depth,
            "predictions": rows, "baseline_predictions": base_rows}


def _eval_rows(path: Path) -> list[dict[str, str]]:
    """The predictions of an eval.json written by train (or of predict's output list), checked (InputError
    otherwise)."""
    data = read_json(path, "eval.json")
    rows = data.get("predictions") if isinstance(data, dict) else data
    if not isinstance(rows, list) or not all(isinstance(r, dict) and isinstance(r.get("id"), str)
                                             and isinstance(r.get("answer"), str) for r in rows):
        raise InputError(f"{path}: not an eval.json of adsgen drivelm train nor predictions of adsgen drivelm "
                         "predict (expected 'predictions': a list of {id, answer} strings)")
    return rows


def compare_evals(first: Path, second: Path, truth: Sequence[Sample]) -> dict[str, Any]:
    """Two training runs' held-out answers on the same questions, question by question: accuracy of each and
    McNemar's exact test, on every accuracy question both answered and on the far-object ones
    (adsgen.drivelm.vlm.zoom.far_tag, from the ground-truth file's key_object_infos)."""
    rows_a, rows_b = _eval_rows(first), _eval_rows(second)
    answered = {r["id"] for r in rows_a} & {r["id"] for r in rows_b}
    common = [s for s in accuracy_samples(truth) if s.id in answered]
    if not common:
        raise InputError(f"{first} and {second}: no accuracy question of the ground truth answered in both")
    out = {}
    for name, group in (("all", common), ("far_objects", [s for s in common if far_tag(s) is not None])):
        out[name] = {"count": len(group), "first": accuracy(group, rows_a)["accuracy"],
                     "second": accuracy(group, rows_b)["accuracy"],
                     **{k.replace("model", "first").replace("baseline", "second"): v
                        for k, v in paired_comparison(group, rows_a, rows_b).items()}}
    return out


def below_baseline_hints(result: dict[str, Any], options: TrainOptions) -> list[str]:
    """What to try when the model is not above the image-blind baseline (empty when it is)."""
    model, baseline = result["model"]["accuracy"], result["baseline"]["accuracy"]
    if model is None or baseline is None or model > baseline:
        return []
    tips = []
    if options.mc_answers != "text":
        tips.append("--mc-answers text (learn the option's text, not its shuffled letter)")
    if options.lr_schedule != "cosine":
        tips.append("--lr-schedule cosine")
    if not options.object_crops:
        tips.append("--object-crops")
    budget = options.max_cpu_minutes or options.max_minutes
    tips.append("a longer run (--max-cpu-minutes" + (f" above {budget:g})" if budget else ")")
                + " or more data (adsgen drivelm qa --variants)")
    return [f"the model ({_pct(model)}) is not above the image-blind baseline ({_pct(baseline)}): try "
            + "; ".join(tips) + " (the measured recipes: docs/vlm.md)"]


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"
