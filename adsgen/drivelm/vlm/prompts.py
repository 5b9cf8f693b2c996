"""What the VLM is asked and how its answers are reduced to the form the DriveLM metric compares.

The accuracy metric compares strings exactly: a multiple-choice answer must be the bare letter ("A") and a
yes/no answer "Yes." or "No.". With chain-of-thought the model first reasons and then ends with
"Answer: X"; :func:`exact_answer` turns any such text into the exact form.
"""

from __future__ import annotations

import re

from adsgen.drivelm.challenge.choices import (
    MC,
    OPEN,
    YES_NO,
    AnswerForm,
    AnswerKind,
    options_of,
    reduce_answer,
)
from adsgen.drivelm.challenge.formats import OBJECT_TAG_RE, strip_image_marker

__all__ = ["MC", "OPEN", "YES_NO", "answer_form_of", "exact_answer", "options_of", "question_kind",
           "strip_image_marker", "template_of", "user_text"]

COT_INSTRUCTION = ("Think step by step about the objects and their distances, then end with "
                   "'Answer: ' followed by the final answer.")
_YES_NO_START = re.compile(r"^(is|are|does|do|did|would|will|can|could|should|has|have|was|were)\b", re.I)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def question_kind(question: str, answer: str | None = None) -> AnswerKind:
    """MC (options listed), yes/no (a yes/no answer, or an auxiliary-verb question without options), or open."""
    q = strip_image_marker(question).strip()
    if options_of(q):
        return MC
    if answer is not None:
        return YES_NO if answer.strip() in ("Yes.", "No.") else OPEN
    # several sentences / questions in one (DriveLM's "notice first ... second ...") are open
    if _YES_NO_START.match(q) and q.count("?") == 1:
        return YES_NO
    return OPEN


def answer_form_of(question: str) -> AnswerForm:
    """The answer form of a question as :func:`question_kind` reads it (no challenge tags needed)."""
    kind = question_kind(question)
    return AnswerForm.multiple_choice(options_of(question)) if kind == MC else AnswerForm(kind)


def exact_answer(text: str, question: str) -> str:
    """A model's text in the exact form the metric compares ('A', 'Yes.'; the challenge's
    :func:`~adsgen.drivelm.challenge.choices.reduce_answer`); a text naming no answer is returned stripped
    (it then scores 0, honestly)."""
    reduced = reduce_answer(text, answer_form_of(question))
    return text.strip() if reduced is None else reduced


def user_text(question: str, depth_sentence: str = "", cot: bool = False) -> str:
    """The text of the user's turn: depth words, the question, and the chain-of-thought instruction."""
    parts = [p for p in (depth_sentence, strip_image_marker(question).strip()) if p]
    if cot and question_kind(question) in (MC, YES_NO):
        parts.append(COT_INSTRUCTION)
    return " ".join(parts)


def template_of(question: str) -> str:
    """The question with object tags and numbers abstracted: the key of the image-blind baseline."""
    q = OBJECT_TAG_RE.sub("<obj>", strip_image_marker(question))
    return _NUMBER.sub("#", q).strip()
