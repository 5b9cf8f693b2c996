"""Closed-form questions of the DriveLM challenge: multiple choice and yes/no.

The challenge turns two question types into 4-way multiple choice (the answer becomes the letter): the
moving status of an object (7 statuses) and the ego vehicle's behaviour (21 steering x speed phrases).
Yes/no questions are answered "Yes." or "No.". The metric compares strings exactly, so a prediction
must be the bare letter ("A") or "Yes." / "No."; ``reduce_answer`` maps common longer forms onto it.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

OPTIONS_PROMPT = " Please select the correct answer from the following options:"
LETTERS = ("A", "B", "C", "D")

# The 7 moving statuses the challenge draws options from.
MOVING_STATUSES = ("Going ahead.", "Turn right.", "Turn left.", "Stopped.", "Back up.", "Reverse parking.",
                   "Drive backward.")
MOVING_STATUS_QUESTION = "What is the moving status of object"

EGO_STEERING = ("going straight", "slightly steering to the left", "steering to the left",
                "slightly steering to the right", "steering to the right")
EGO_SPEEDS = ("driving very fast", "driving fast", "driving with normal speed", "driving slowly")
EGO_NOT_MOVING = "The ego vehicle is going straight. The ego vehicle is not moving."


def ego_behaviour_phrase(steering: str, speed: str | None) -> str:
    """'The ego vehicle is <steering>. The ego vehicle is <speed>.'; speed None means not moving."""
    if speed is None:
        return EGO_NOT_MOVING
    return f"The ego vehicle is {steering}. The ego vehicle is {speed}."


# The 21 behaviour phrases of the challenge: 5 steering x 4 speeds, plus standing still.
EGO_BEHAVIOURS = tuple(ego_behaviour_phrase(s, v) for s in EGO_STEERING for v in EGO_SPEEDS) + (EGO_NOT_MOVING,)
EGO_BEHAVIOUR_QUESTION = "Predict the behavior of the ego vehicle."

YES, NO = "Yes.", "No."

_OPTION_RE = re.compile(r"\b([A-D])\. (.*?)(?= [A-D]\. |$)")


def make_multiple_choice(question: str, answer: str, pool: tuple[str, ...], rng: random.Random
                         ) -> tuple[str, str]:
    """The challenge's 4-way form: three distractors drawn from ``pool`` without the answer, shuffled
    with it; returns (question with options appended, answer letter)."""
    if answer not in pool:
        raise ValueError(f"answer {answer!r} is not one of the options {list(pool)}")
    choices = rng.sample([p for p in pool if p != answer], 3) + [answer]
    rng.shuffle(choices)
    opts = " ".join(f"{letter}. {text}" for letter, text in zip(LETTERS, choices, strict=False))
    return f"{question}{OPTIONS_PROMPT} {opts}", LETTERS[choices.index(answer)]


@dataclass(frozen=True)
class AnswerForm:
    """What form the metric needs for a question: 'choice' (letters), 'yes_no' or 'free'."""

    kind: str
    letters: tuple[str, ...] = ()
    options: tuple[str, ...] = ()   # option texts, aligned with letters


def answer_form(question: str, tags: list[int] | None) -> AnswerForm:
    """The form of a question's answer: options appended -> 'choice'; accuracy-scored (tag 0) without
    options -> 'yes_no'; anything else -> 'free'."""
    q = question[len("<image>\n"):] if question.startswith("<image>\n") else question
    if OPTIONS_PROMPT.strip() in q:
        tail = q.split(OPTIONS_PROMPT.strip(), 1)[1].strip()
        found = _OPTION_RE.findall(tail)
        return AnswerForm("choice", tuple(m[0] for m in found), tuple(m[1].strip() for m in found))
    if tags is not None and 0 in tags:
        return AnswerForm("yes_no")
    return AnswerForm("free")


def is_exact_form(answer: str, form: AnswerForm) -> bool:
    if form.kind == "choice":
        return answer in form.letters
    if form.kind == "yes_no":
        return answer in (YES, NO)
    return True


_LETTER_PATTERNS = (
    re.compile(r"^\(?([A-D])\)?(?:[.:)]|\s|$)"),                      # "A", "A.", "(B)", "C: text"
    re.compile(r"\b(?:answer|option|choice) (?:is|would be|:)\s*\(?([A-D])\b", re.IGNORECASE),
)
_YES_NO = re.compile(r"^\W*(yes|no)\b", re.IGNORECASE)


def reduce_answer(answer: str, form: AnswerForm) -> str | None:
    """The exact form of an answer ('A', 'Yes.'), or None when it cannot be read unambiguously.
    Free-form answers are returned unchanged."""
    text = answer.strip()
    if form.kind == "free":
        return answer
    if form.kind == "yes_no":
        m = _YES_NO.match(text)
        return (YES if m.group(1).lower() == "yes" else NO) if m else None
    for pat in _LETTER_PATTERNS:
        m = pat.search(text)
        if m and m.group(1) in form.letters:
            return m.group(1)
    lowered = text.lower().rstrip(".")
    hits = [letter for letter, opt in zip(form.letters, form.options, strict=False) if opt.lower().rstrip(".") == lowered]
    return hits[0] if len(hits) == 1 else None
