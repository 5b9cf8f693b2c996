"""``adsgen drivelm ...``: DriveLM file conversions, validation, scoring, submission and QA generation.

(The VLM commands, train, predict and compare, live in ``adsgen.drivelm.vlm.commands``.)
"""

from __future__ import annotations

import inspect
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from adsgen.drivelm.challenge import formats as F
from adsgen.drivelm.challenge.formats import (
    IMAGE_TOKEN,
    Prediction,
    SubmissionHeader,
    check_eval_file,
    check_question_file,
    load_conversations,
    load_nested,
    load_predictions,
    load_submission,
    to_conversations,
    to_question_file,
    write_conversations,
    write_nested,
    write_predictions,
    write_submission,
)
from adsgen.drivelm.challenge.submission import build_submission
from adsgen.drivelm.challenge.testset import make_eval_file
from adsgen.drivelm.progress import rich_phases
from adsgen.errors import InputError
from adsgen.jsonout import STDOUT, check_json_target, json_option, tables_to_stderr
from adsgen.jsonout import write_json as write_json_output
from adsgen.outputs import check_output
from adsgen.provenance import file_fingerprint, utc_now, versions

# Imports: the CLI loads this module on every adsgen call, so the QA pipeline (renderer, engine: ~0.15 s) and
# the scorer (~0.03 s) are imported inside their commands; the challenge's formats are light and stay here.

console = Console(soft_wrap=True)

drivelm_app = typer.Typer(help="DriveLM: file formats, local scoring as the challenge does it, submissions, "
                               "and QA generated from simulated scenes.", no_args_is_help=True)
convert_app = typer.Typer(help="Convert between DriveLM file formats.", no_args_is_help=True)
drivelm_app.add_typer(convert_app, name="convert")

_OUT = typer.Option(..., "--out", "-o", help="Output JSON file.")
# the submission's header fields (predictions-to-submission and submit)
_TEAM = typer.Option(..., help="Team name, exactly as registered.")
_METHOD = typer.Option(..., help="Method name.")
_AUTHORS = typer.Option([], "--author", help="An author (repeat for several).")
_EMAIL = typer.Option("", help="Contact e-mail.")
_INSTITUTION = typer.Option("", help="Institution or company.")
_COUNTRY = typer.Option("", help="Country or region.")


def _provenance(inputs: dict[str, Path], config: dict) -> dict:
    return {"created": utc_now(), "versions": versions(("adsgen", "numpy", "torch", "transformers")),
            "inputs": {k: {"path": str(p), "fingerprint": file_fingerprint(p)} for k, p in inputs.items()},
            "config": config}


def _check_out(out: Path, *inputs: Path | None) -> None:
    """Refuse an --out that is one of the inputs, a folder, or in a folder that does not exist (exit 2)."""
    check_output(out, inputs)


def _converter(name: str, file_param: str, file_help: str, doc: str, convert: Callable[[Path, Path], str]) -> None:
    """Register ``adsgen drivelm convert NAME FILE_PARAM --out OUT``: ``convert(FILE, OUT)`` writes OUT and says
    what. The command's signature is built here so that its argument keeps its own name (shown in help)."""

    def command(**kwargs: Path) -> None:
        source, out = kwargs[file_param], kwargs["out"]
        _check_out(out, source)
        console.print(convert(source, out))

    command.__signature__ = inspect.Signature([  # type: ignore[attr-defined]
        inspect.Parameter(file_param, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                          default=typer.Argument(..., help=file_help), annotation=Path),
        inspect.Parameter("out", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=_OUT, annotation=Path)])
    command.__annotations__ = {file_param: Path, "out": Path, "return": None}
    command.__doc__ = doc
    convert_app.command(name)(command)


def _nested_to_questions(nested: Path, out: Path) -> str:
    data = load_nested(nested)
    check_question_file(data, str(nested))
    q = to_question_file(data)
    write_nested(q, out)
    return f"wrote {len(q.question_ids())} questions of {q.n_frames()} frames to {out}"


def _predictions_to(preds: list[Prediction], out: Path) -> str:
    write_predictions(preds, out)
    return f"wrote {len(preds)} predictions to {out}"


# ------------------------------------------------------------------------------------------------ convert


@convert_app.command("nested-to-conversations")
def nested_to_conversations(
    nested: Annotated[Path, typer.Argument(help="Nested DriveLM file (training, evaluation or question file).")],
    out: Path = _OUT,
    image_prefix_from: str = typer.Option("..", help="Leading part of image paths to replace."),
    image_prefix_to: str = typer.Option("data", help="What replaces it (the challenge's converter: '..' -> 'data')."),
) -> None:
    """Nested -> flattened [{id, image, conversations}] with ids <scene>_<frame>_<i>."""
    _check_out(out, nested)

    items = to_conversations(load_nested(nested), image_prefix_from, image_prefix_to)
    write_conversations(items, out)
    console.print(f"wrote {len(items)} conversations to {out}")


_converter("nested-to-questions", "nested", "Nested evaluation file (tagged questions with answers).",
           "Nested evaluation file -> question file (every answer emptied, key objects removed).", _nested_to_questions)


@convert_app.command("nested-to-eval")
def nested_to_eval(
    nested: Annotated[Path, typer.Argument(help="Nested training-format file (with key_object_infos).")],
    out: Path = _OUT,
    seed: int = typer.Option(0, help="Seed of the multiple-choice distractors and their order."),
) -> None:
    """Training file -> evaluation file: the challenge's question selection, tags and multiple choice."""
    _check_out(out, nested)

    ev = make_eval_file(load_nested(nested), seed=seed, source=str(nested))
    write_nested(ev, out)
    console.print(f"wrote {len(ev.question_ids())} tagged questions of {ev.n_frames()} frames to {out}")


_converter("nested-to-predictions", "nested", "Nested file with answers.",
           "Nested file -> predictions holding its own answers (an oracle, to check a pipeline end to end).",
           lambda nested, out: _predictions_to([Prediction(id=r.id, answer=r.qa.answer, question=IMAGE_TOKEN + r.qa.question)
                                                for r in load_nested(nested).iter_questions()], out))
_converter("conversations-to-predictions", "conversations", "Flattened conversation file.",
           "Conversations -> predictions holding the 'gpt' turns as answers.",
           lambda conversations, out: _predictions_to([Prediction(id=c.id, answer=c.answer, question=IMAGE_TOKEN + c.question)
                                                       for c in load_conversations(conversations)], out))


@convert_app.command("predictions-to-submission")
def predictions_to_submission(
    predictions: Annotated[Path, typer.Argument(help="Predictions [{id, question, answer}].")],
    out: Path = _OUT,
    team: str = _TEAM,
    method: str = _METHOD,
    author: list[str] = _AUTHORS,
    email: str = _EMAIL,
    institution: str = _INSTITUTION,
    country: str = _COUNTRY,
) -> None:
    """Wrap predictions as a submission without checks (use 'adsgen drivelm submit' to check them)."""
    _check_out(out, predictions)

    preds = load_predictions(predictions)
    write_submission(SubmissionHeader(method, team, tuple(author), email, institution, country).with_results(preds), out)
    console.print(f"wrote a submission of {len(preds)} answers to {out}")


_converter("submission-to-predictions", "submission", "Submission file.", "Submission -> its prediction list.",
           lambda submission, out: _predictions_to(load_submission(submission).results, out))


@drivelm_app.command("validate")
def validate(files: Annotated[list[Path], typer.Argument(help="DriveLM files of any format.")]) -> None:
    """Detect each file's format, validate it and summarise it."""
    for path in files:
        obj = F.read_json(path, "DriveLM file")
        kind = F.detect_format(obj)
        if kind == "nested":
            data = F.parse_nested(obj, str(path))
            tags = Counter(t for r in data.iter_questions() for t in (r.qa.tags or []))
            console.print(f"{path}: nested ({data.kind()}), {len(data.scenes)} scenes, {data.n_frames()} frames, "
                          f"{len(data.question_ids())} questions, tags {dict(sorted(tags.items()))}")
        elif kind == "conversations":
            console.print(f"{path}: conversations, {len(F.parse_conversations(obj, str(path)))} entries")
        elif kind == "predictions":
            console.print(f"{path}: predictions, {len(F.parse_predictions(obj, str(path)))} answers")
        elif kind == "submission":
            sub = F.parse_submission(obj, str(path))
            console.print(f"{path}: submission of team {sub.team!r}, method {sub.method!r}, "
                          f"{len(sub.results)} answers")
        else:
            raise InputError(f"{path}: not a DriveLM file (nested, conversations, predictions or submission)")


# ------------------------------------------------------------------------------------------------ evaluate


def _fmt(x: float | None, scale: str = "") -> str:
    return "missing" if x is None else f"{x:.4f}{scale}"


@drivelm_app.command("evaluate")
def evaluate_cmd(
    predictions: Annotated[Path, typer.Argument(help="Predictions [{id, question, answer}] (or a submission).")],
    gt: Path = typer.Option(..., "--gt", help="Ground truth: nested evaluation file with tags and answers."),
    judge: str = typer.Option("none", help="'none', or a folder with a local causal LM that rates the "
                                           "GPT-judged answers 0-100."),
    json_out: str | None = json_option("the scores (with provenance)"),
) -> None:
    """Score predictions exactly as the DriveLM challenge does (accuracy, match, language, GPT parts)."""
    from adsgen.drivelm.challenge.scoring import evaluate, make_judge  # lazy: see the note on imports above
    check_json_target(json_out, (predictions, gt))
    truth = load_nested(gt)
    check_eval_file(truth, str(gt))
    preds = load_predictions(predictions)
    uses_judge = judge.strip().lower() not in ("", "none")
    with tables_to_stderr(json_out), rich_phases(console, enabled=uses_judge) as phases:  # a judge takes a while
        step = phases("load judge", 1)
        j = make_judge(judge)
        step(1)
        result = evaluate(preds, truth, judge=j, source=str(gt), progress=phases)
    with tables_to_stderr(json_out):
        c = result["counts"]
        console.print(f"accuracy  {_fmt(result['accuracy'])}   ({c['accuracy']} questions)")
        console.print(f"match F1  {_fmt(result['match_f1'])}   ({c['match']} questions)")
        lang = result["language"] or {}
        console.print("language  " + ("  ".join(f"{k} {v:.4f}" for k, v in lang.items()) or "missing")
                      + f"   ({c['language']} questions)")
        console.print(f"chatgpt   {_fmt(result['chatgpt'])}   ({c['chatgpt']} questions; judge: {result['judge']})")
        console.print(f"match     {_fmt(result['match'])}")
        console.print(f"final     {_fmt(result['final'])}" + ("   (partial: GPT-judged parts missing)"
                                                               if result["partial"] else ""))
        console.print(f"skipped   {result['skipped']} questions about objects the first answer did not find")
        if result["ignored_predictions"]:
            console.print(f"ignored   {result['ignored_predictions']} predictions for ids the ground truth does not hold")
    if json_out is not None:
        payload = dict(result)
        payload["provenance"] = _provenance({"predictions": predictions, "ground_truth": gt}, {"judge": judge})
        where = write_json_output(json_out, payload)
        if where != STDOUT:
            console.print(f"wrote {where}")


# ------------------------------------------------------------------------------------------------ submit


@drivelm_app.command("submit")
def submit(
    predictions: Annotated[Path, typer.Argument(help="Predictions [{id, question, answer}].")],
    questions: Path = typer.Option(..., "--questions", help="The challenge's question file (nested, tagged)."),
    out: Path = _OUT,
    team: str = _TEAM,
    method: str = _METHOD,
    author: list[str] = _AUTHORS,
    email: str = _EMAIL,
    institution: str = _INSTITUTION,
    country: str = _COUNTRY,
    normalise: bool = typer.Option(False, "--normalise", help="Reduce readable answers ('A. Going ahead.', "
                                                              "'yes') to the exact form ('A', 'Yes.')."),
) -> None:
    """Check predictions against the question file and write the submission file."""
    _check_out(out, predictions, questions)

    qfile = load_nested(questions)
    check_question_file(qfile, str(questions))
    preds = load_predictions(predictions)
    header = SubmissionHeader(method, team, tuple(author), email, institution, country)
    sub, report = build_submission(preds, qfile, header, normalise=normalise, pred_source=str(predictions),
                                   question_source=str(questions))
    write_submission(sub, out)
    forms = ", ".join(f"{v} {k}" for k, v in sorted(report.by_form.items()))
    console.print(f"wrote {out}: {report.questions} answers ({forms}); "
                  f"{len(report.normalised)} reduced to the exact form")


# ------------------------------------------------------------------------------------------------ qa


@drivelm_app.command("qa")
def qa(
    scenarios: Annotated[list[Path], typer.Argument(help="Scenario or seed YAML files, or folders of them.")],
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (JSON files and samples/ images)."),
    cameras: str = typer.Option("front", help="'front', 'all', or a comma list of camera names."),
    frames: int = typer.Option(4, help="Key frames per scenario, at evenly spread times of its run."),
    scale: float = typer.Option(0.5, help="Image size as a fraction of 1600x900 (tags stay in 1600x900)."),
    agent: str = typer.Option("idm", help="Agent driving the ego during the run."),
    max_objects: int = typer.Option(3, help="Key objects per frame."),
    variants: int = typer.Option(0, help="Extra random variants per seed file (light, weather, surface and "
                                         "dynamic parameters drawn within the seed's contract and ranges)."),
    variant_seed: int = typer.Option(0, help="Seed of the variants."),
    test_share: float = typer.Option(0.0, help="Share of scenes held out as the test split (by scenario)."),
    split_seed: int = typer.Option(0, help="Seed of the train/test split."),
    split_by: str = typer.Option("scenario", help="Hold out whole scenarios ('scenario') or whole input files "
                                                   "with all their variants ('source')."),
) -> None:
    """Render simulated key frames and write DriveLM-format QA with ground truth from the engine."""
    from adsgen.drivelm.qa.dataset import generate_dataset  # lazy: see the note on imports above
    from adsgen.drivelm.qa.generation import QAConfig, cameras_option
    check_output(out, scenarios, folder=True, make_parents=True)
    config = QAConfig(cameras=cameras_option(cameras), frames=frames, scale=scale, agent=agent,
                      max_objects=max_objects)
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("rendering scenes", total=None)
        result = generate_dataset(scenarios, out, config, test_share=test_share, split_seed=split_seed,
                                  split_by=split_by, variants=variants, variant_seed=variant_seed,
                                  progress=lambda msg: bar.update(task, advance=1, description=msg))
    for split, c in result.manifest["counts"].items():
        console.print(f"{split}: {c['scenes']} scenes, {c['frames']} key frames, {c['questions']} questions")
    console.print(f"wrote {', '.join(result.manifest['files'].values())} and manifest.json to {out}")


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    app.add_typer(drivelm_app, name="drivelm")


__all__ = ["drivelm_app", "register"]
