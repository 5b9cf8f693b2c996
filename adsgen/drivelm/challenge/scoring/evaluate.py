"""The DriveLM challenge's score of a prediction file against a ground-truth (evaluation) file.

For every frame, questions are visited in the challenge's order. The first (important objects) is
always scored, and the truth points its answer matched become the frame's found objects; a later question
is scored only if every point in its text is a found object. A scored question goes to each part its
tags name: 0 accuracy (exact string equality), 1 GPT judge, 2 language metrics, 3 coordinate match
(F1, and the GPT judge). The final score is
0.4 * chatgpt/100 + 0.2 * (mean(BLEU-1..4)/3 + ROUGE_L/3 + CIDEr/30) + 0.2 * match/100 + 0.2 * accuracy,
with match = (match_f1 + GPT rating of the match questions) / 2. Without a judge, chatgpt, match and final
are None and ``partial`` is True.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from adsgen.drivelm.challenge.formats import (
    TAG_ACCURACY,
    TAG_GPT,
    TAG_LANGUAGE,
    TAG_MATCH,
    NestedDataset,
    Prediction,
    QuestionRef,
)
from adsgen.drivelm.challenge.scoring.judge import Judge
from adsgen.drivelm.challenge.scoring.language import language_scores
from adsgen.drivelm.challenge.scoring.match import match_points, question_in_graph
from adsgen.drivelm.challenge.scoring.tokenizer import tokenize_all
from adsgen.drivelm.progress import Phases, silent
from adsgen.errors import InputError

RATE_CHUNK = 16  # (answer, truth) pairs handed to the judge at a time, one progress step each

WEIGHTS = {"chatgpt": 0.4, "language": 0.2, "match": 0.2, "accuracy": 0.2}


@dataclass
class _Parts:
    accuracy: list[float] = field(default_factory=list)            # 1.0 / 0.0 per question
    gpt: list[tuple[str, str]] = field(default_factory=list)       # (answer, truth)
    language: list[tuple[str, str]] = field(default_factory=list)  # (answer, truth)
    match_f1: list[float] = field(default_factory=list)            # F1 * 100 per question
    match_gpt: list[tuple[str, str]] = field(default_factory=list)
    skipped: int = 0                                               # questions the gate skipped
    ignored: int = 0                                               # predictions for ids not in the truth

    def add(self, ref: QuestionRef, answer: str, source: str) -> None:
        tags = ref.qa.tags or []
        truth = ref.qa.answer
        if TAG_ACCURACY in tags:
            self.accuracy.append(1.0 if answer == truth else 0.0)
        if TAG_GPT in tags:
            self.gpt.append((answer, truth))
        if TAG_LANGUAGE in tags:
            self.language.append((answer, truth))
        if TAG_MATCH in tags:
            self.match_f1.append(match_points(answer, truth, f"{source}: {_where(ref)}").f1 * 100.0)
            self.match_gpt.append((answer, truth))


def _where(ref: QuestionRef) -> str:
    return f"scene {ref.scene_id} frame {ref.frame_id} question {ref.index} ({ref.category})"


def _answers_by_id(predictions: Sequence[Prediction] | Mapping[str, str]) -> dict[str, str]:
    if isinstance(predictions, Mapping):
        return dict(predictions)
    out: dict[str, str] = {}
    for p in predictions:
        if p.id in out:
            raise InputError(f"predictions: duplicated id {p.id}")
        out[p.id] = p.answer
    return out


def collect(predictions: Sequence[Prediction] | Mapping[str, str], ground_truth: NestedDataset,
            source: str = "ground truth") -> _Parts:
    """Route every scored question to its parts, applying the first-question gate."""
    answers = _answers_by_id(predictions)
    missing = [ref for ref in ground_truth.iter_questions() if ref.id not in answers]
    if missing:
        first = ", ".join(f"{r.id} ({_where(r)})" for r in missing[:3])
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise InputError(f"predictions lack {len(missing)} question ids of {source}: {first}{more}")
    parts = _Parts()
    parts.ignored = len(set(answers) - {ref.id for ref in ground_truth.iter_questions()})
    for sid, scene in ground_truth.scenes.items():
        for fid in scene.key_frames:
            found: list[tuple[float, float]] = []
            for k, ref in enumerate(ground_truth.iter_questions_of(sid, fid)):
                answer = answers[ref.id]
                if k == 0:
                    found = match_points(answer, ref.qa.answer, f"{source}: {_where(ref)}").matched_truth
                    parts.add(ref, answer, source)
                elif question_in_graph(ref.qa.question, found, f"{source}: {_where(ref)}"):
                    parts.add(ref, answer, source)
                else:
                    parts.skipped += 1
    return parts


def _mean(xs: Sequence[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def _judged(judge: Judge | None, pairs: list[tuple[str, str]], phases: Phases, what: str
            ) -> tuple[float | None, int]:
    """Mean rating of the pairs and the number the judge left unrated (progress: a phase per part)."""
    if judge is None or not pairs:
        return None, 0
    advance = phases(f"judge: {what}", len(pairs))
    ratings: list[float | None] = []
    for start in range(0, len(pairs), RATE_CHUNK):
        chunk = pairs[start:start + RATE_CHUNK]
        ratings += judge.rate(chunk)
        advance(len(chunk))
    rated = [r for r in ratings if r is not None]
    return _mean(rated), len(ratings) - len(rated)


def language_part(pairs: list[tuple[str, str]]) -> dict[str, float] | None:
    """coco-caption metrics of (answer, truth) pairs after PTB-style tokenisation."""
    if not pairs:
        return None
    hyps = tokenize_all([a for a, _ in pairs])
    # language_evaluation rewrites its unknown-word marker in references before tokenising
    refs = [[t] for t in tokenize_all([t.replace("_UNK", "_UNKNOWN") for _, t in pairs])]
    return language_scores(hyps, refs)


def language_term(language: Mapping[str, float]) -> float:
    """The language part of the final score (0..1 scale): mean(BLEU-1..4)/3 + ROUGE_L/3 + CIDEr/30."""
    bleu = sum(language[f"Bleu_{k}"] for k in range(1, 5)) / 4.0
    return bleu / 3.0 + language["ROUGE_L"] / 3.0 + language["CIDEr"] / 10.0 / 3.0


def evaluate(predictions: Sequence[Prediction] | Mapping[str, str], ground_truth: NestedDataset,
             judge: Judge | None = None, source: str = "ground truth", progress: Phases | None = None) -> dict:
    """Score predictions against ground truth as the challenge does. Returns the result dict:
    accuracy (0-1), match_f1 (0-100), language {Bleu_1..4, ROUGE_L, CIDEr}, chatgpt (0-100 or None),
    match (0-100 or None), final (None or number), partial, counts, skipped, ignored_predictions (ids the
    ground truth does not hold), judge, judge_unrated. Progress: the judge's ratings (the slow part)."""
    phases = progress or silent
    parts = collect(predictions, ground_truth, source)
    accuracy = _mean(parts.accuracy)
    match_f1 = _mean(parts.match_f1)
    language = language_part(parts.language)
    chatgpt, unrated_gpt = _judged(judge, parts.gpt, phases, "GPT-scored answers")
    match_gpt, unrated_match = _judged(judge, parts.match_gpt, phases, "match answers")
    match = None
    if match_f1 is not None and match_gpt is not None:
        match = (match_f1 + match_gpt) / 2.0
    final = None
    if accuracy is not None and language is not None and chatgpt is not None and match is not None:
        final = (WEIGHTS["chatgpt"] * chatgpt / 100.0 + WEIGHTS["language"] * language_term(language)
                 + WEIGHTS["match"] * match / 100.0 + WEIGHTS["accuracy"] * accuracy)
    unrated = unrated_gpt + unrated_match
    return {
        "accuracy": accuracy,
        "match_f1": match_f1,
        "language": language,
        "chatgpt": chatgpt,
        "match": match,
        "final": final,
        "partial": final is None or unrated > 0,
        "counts": {"accuracy": len(parts.accuracy), "chatgpt": len(parts.gpt),
                   "language": len(parts.language), "match": len(parts.match_f1)},
        "skipped": parts.skipped,
        "ignored_predictions": parts.ignored,
        "judge": None if judge is None else judge.name,
        "judge_unrated": unrated,
    }
