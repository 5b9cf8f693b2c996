"""Build the challenge submission from predictions and the question file, checking it first.

Checks: every question id of the question file is answered exactly once; no prediction answers a
question the file does not hold; a prediction's question text (when given) is the file's; multiple-choice
answers are a bare option letter and yes/no answers are "Yes." or "No." (the forms the metric compares).
With ``normalise`` answers in a readable longer form ("A. Going ahead.", "yes") are reduced first.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from adsgen.drivelm.challenge.choices import MC, AnswerKind, answer_form, is_exact_form, reduce_answer
from adsgen.drivelm.challenge.formats import (
    IMAGE_TOKEN,
    NestedDataset,
    Prediction,
    Submission,
    SubmissionHeader,
    strip_image_marker,
)
from adsgen.errors import InputError


@dataclass
class SubmissionReport:
    """What building a submission found and changed."""

    questions: int = 0
    normalised: list[str] = field(default_factory=list)    # ids whose answer was reduced
    by_form: dict[AnswerKind, int] = field(default_factory=dict)  # multiple_choice / yes_no / open -> count


def _list(ids: list[str], n: int = 3) -> str:
    more = f" and {len(ids) - n} more" if len(ids) > n else ""
    return ", ".join(ids[:n]) + more


def build_submission(predictions: list[Prediction], questions: NestedDataset, header: SubmissionHeader, *,
                     normalise: bool = False, pred_source: str = "predictions",
                     question_source: str = "question file") -> tuple[Submission, SubmissionReport]:
    """Check predictions against the question file and wrap them; InputError on the first problem kind."""
    if not header.method.strip() or not header.team.strip():
        raise InputError("submission: --method and --team must not be empty")
    counts = Counter(p.id for p in predictions)
    dups = [i for i, c in counts.items() if c > 1]
    if dups:
        raise InputError(f"{pred_source}: {len(dups)} question ids answered more than once: {_list(dups)}")
    by_id = {p.id: p for p in predictions}
    refs = list(questions.iter_questions())
    known = {r.id for r in refs}
    missing = [r.id for r in refs if r.id not in by_id]
    if missing:
        raise InputError(f"{pred_source}: {len(missing)} of {len(refs)} questions of {question_source} are "
                         f"not answered: {_list(missing)}")
    unknown = [p.id for p in predictions if p.id not in known]
    if unknown:
        raise InputError(f"{pred_source}: {len(unknown)} predictions answer no question of {question_source} "
                         f"(a question file of another version?): {_list(unknown)}")
    report = SubmissionReport(questions=len(refs))
    results: list[Prediction] = []
    bad: list[str] = []
    for ref in refs:
        pred = by_id[ref.id]
        if pred.question is not None and strip_image_marker(pred.question) != ref.qa.question:
            raise InputError(f"{pred_source}: id {ref.id}: its question differs from {question_source} "
                             f"(scene {ref.scene_id} frame {ref.frame_id} question {ref.index}): predictions "
                             "made from a question file of another version?")
        form = answer_form(ref.qa.question, ref.qa.tags)
        report.by_form[form.kind] = report.by_form.get(form.kind, 0) + 1
        answer = pred.answer
        if normalise and not is_exact_form(answer, form):
            reduced = reduce_answer(answer, form)
            if reduced is not None:
                answer = reduced
                report.normalised.append(ref.id)
        if not is_exact_form(answer, form):
            want = f"one of {list(form.letters)}" if form.kind == MC else "'Yes.' or 'No.'"
            bad.append(f"{ref.id} ({form.kind}: {answer[:40]!r}, expected {want})")
        results.append(Prediction(id=ref.id, answer=answer, question=IMAGE_TOKEN + ref.qa.question))
    if bad:
        hint = "" if normalise else "; --normalise reduces readable forms like 'A. Going ahead.' or 'yes'"
        raise InputError(f"{pred_source}: {len(bad)} answers are not in the form the metric compares: "
                         f"{_list(bad)}{hint}")
    sub = header.with_results(results)
    return sub, report
