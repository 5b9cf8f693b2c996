"""Closed-form questions of the DriveLM challenge: multiple choice and yes/no.

The challenge turns two question types into 4-way multiple choice (the answer becomes the letter): the
moving status of an object (7 statuses) and the ego vehicle's behaviour (21 steering x speed phrases).
Yes/no questions are answered "Yes." or "No.". The metric compares strings exactly, so a prediction
must be the bare letter ("A") or "Yes." / "No."; ``reduce_answer`` maps longer forms (a model's
chain-of-thought, an option's text) onto it, for ``adsgen drivelm submit --normalise`` and the VLM alike.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Literal

from adsgen.drivelm.challenge.formats import TAG_ACCURACY, strip_image_marker

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


AnswerKind = Literal["multiple_choice", "yes_no", "open"]
MC: AnswerKind = "multiple_choice"   # options appended; the answer is the bare letter
YES_NO: AnswerKind = "yes_no"        # the answer is "Yes." or "No."
OPEN: AnswerKind = "open"            # free text (language / GPT / match metrics)
ANSWER_KINDS: tuple[AnswerKind, ...] = (MC, YES_NO, OPEN)

_OPTIONS = re.compile(r"\b([A-F])\.\s+(.+?)(?=\s+[A-F]\.\s+|$)", re.S)
_HAS_OPTIONS = re.compile(r"options?\s*:?\s*A\.\s", re.I)


def options_of(question: str) -> dict[str, str]:
    """{'A': 'Going ahead.', ...} from a multiple-choice question's option list ({} without one)."""
    match = _HAS_OPTIONS.search(question)
    if not match:
        return {}
    tail = question[match.start():]
    tail = tail[tail.index("A."):]
    return {letter: text.strip() for letter, text in _OPTIONS.findall(tail)}


@dataclass(frozen=True)
class AnswerForm:
    """What form the metric needs for a question's answer."""

    kind: AnswerKind
    letters: tuple[str, ...] = ()
    options: tuple[str, ...] = ()   # option texts, aligned with letters

    @classmethod
    def multiple_choice(cls, options: dict[str, str]) -> AnswerForm:
        return cls(MC, tuple(options), tuple(options.values()))


def answer_form(question: str, tags: list[int] | None) -> AnswerForm:
    """The form of a question's answer in a challenge file: options appended -> multiple choice;
    accuracy-scored (tag 0) without options -> yes/no; anything else -> open."""
    q = strip_image_marker(question)
    if OPTIONS_PROMPT.strip() in q:
        return AnswerForm.multiple_choice(options_of(q))
    if tags is not None and TAG_ACCURACY in tags:
        return AnswerForm(YES_NO)
    return AnswerForm(OPEN)


def is_exact_form(answer: str, form: AnswerForm) -> bool:
    """The answer is in the form the metric compares (a letter, 'Yes.' / 'No.'; any text for open)."""
    if form.kind == MC:
        return answer in form.letters
    if form.kind == YES_NO:
        return answer in (YES, NO)
    return True


def reduce_answer(text: str, form: AnswerForm) -> str | None:
    """The exact form the metric compares ('A', 'Yes.'), or None when the text names no answer.

    Reads the part after the last 'Answer:' first (chain-of-thought), then the whole text: a leading letter
    ('B', '(C)', 'D. Back up.'), an option's text ('stopped'; the longest option inside the text), a lone
    letter ('The answer is A.'); for yes/no the first yes or no after 'Answer:', else the last one. Open
    answers are returned as the part after 'Answer:' (else stripped).
    """
    raw = text.strip()
    final = raw.rsplit("Answer:", 1)[-1].strip() if "Answer:" in raw else raw
    if form.kind == OPEN:
        return final
    if form.kind == YES_NO:
        for candidate in (final, raw):
            words = re.findall(r"\b(yes|no)\b", candidate, re.I)
            if words:
                return YES if words[-1 if candidate is raw else 0].lower() == "yes" else NO
        return None
    return _letter_of(final, raw, form)


def _letter_of(final: str, raw: str, form: AnswerForm) -> str | None:
    letters = "".join(form.letters) or "".join(LETTERS)
    for candidate in (final, raw):
        m = re.match(rf"^\(?([{letters}])\b[).:]?", candidate)
        if m:
            return m.group(1)
    for candidate in (final, raw):
        letter = _option_named(candidate, dict(zip(form.letters, form.options, strict=True)))
        if letter is not None:
            return letter
    lone = re.findall(rf"\b([{letters}])\b", final)
    return lone[-1] if lone else None


def _option_named(text: str, options: dict[str, str]) -> str | None:
    """The letter of the option a text names: its exact text, else the longest option text inside it
    (so "... driving very fast." is not read as the option "... driving fast.")."""
    said = text.strip().rstrip(".").lower()
    inside = []
    for letter, option in options.items():
        norm = option.rstrip(".").lower()
        if not norm:
            continue
        if norm == said:
            return letter
        if re.search(rf"(?<![a-z]){re.escape(norm)}(?![a-z])", said):
            inside.append((len(norm), letter))
    return max(inside)[1] if inside else None
