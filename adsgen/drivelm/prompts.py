"""What the VLM is asked and how its answers are reduced to the form the DriveLM metric compares.

The accuracy metric compares strings exactly: a multiple-choice answer must be the bare letter ("A") and a
yes/no answer "Yes." or "No.". With chain-of-thought the model first reasons and then ends with
"Answer: X"; :func:`reduce_answer` turns any such text into the exact form.
"""

from __future__ import annotations

import re

MC = "multiple_choice"
YES_NO = "yes_no"
OPEN = "open"

COT_INSTRUCTION = ("Think step by step about the objects and their distances, then end with "
                   "'Answer: ' followed by the final answer.")
_OPTIONS = re.compile(r"\b([A-F])\.\s+(.+?)(?=\s+[A-F]\.\s+|$)", re.S)
_HAS_OPTIONS = re.compile(r"options?\s*:?\s*A\.\s", re.I)
_YES_NO_START = re.compile(r"^(is|are|does|do|did|would|will|can|could|should|has|have|was|were)\b", re.I)
_TAG = re.compile(r"<c\d+,[A-Z_]+,-?\d+(?:\.\d+)?,-?\d+(?:\.\d+)?>")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def strip_image_marker(question: str) -> str:
    """Drop a leading '<image>\\n' (the flattened format's marker; images are passed separately)."""
    return re.sub(r"^\s*(<image>\s*)+", "", question)


def question_kind(question: str, answer: str | None = None) -> str:
    """MC (options listed), yes/no (a yes/no answer, or an auxiliary-verb question without options), or open."""
    q = strip_image_marker(question).strip()
    if _HAS_OPTIONS.search(q):
        return MC
    if answer is not None:
        return YES_NO if answer.strip() in ("Yes.", "No.") else OPEN
    # several sentences / questions in one (DriveLM's "notice first ... second ...") are open
    if _YES_NO_START.match(q) and q.count("?") == 1:
        return YES_NO
    return OPEN


def options_of(question: str) -> dict[str, str]:
    """{'A': 'Going ahead.', ...} from a multiple-choice question's option list."""
    match = _HAS_OPTIONS.search(question)
    if not match:
        return {}
    tail = question[match.start():]
    tail = tail[tail.index("A."):]
    return {letter: text.strip() for letter, text in _OPTIONS.findall(tail)}


def reduce_answer(text: str, question: str) -> str:
    """The exact form the metric compares: 'A'..'F' for MC, 'Yes.'/'No.' for yes/no, else the stripped text.

    Looks at the part after the last 'Answer:' first (chain-of-thought), then at the whole text. A text
    with no recognisable answer is returned stripped (it then scores 0, honestly).
    """
    kind = question_kind(question)
    raw = text.strip()
    final = raw.rsplit("Answer:", 1)[-1].strip() if "Answer:" in raw else raw
    if kind == MC:
        options = options_of(question)
        letters = "".join(options) or "ABCD"
        for candidate in (final, raw):
            m = re.match(rf"^\(?([{letters}])\b[).:]?", candidate)
            if m:
                return m.group(1)
        for candidate in (final, raw):
            letter = _option_named(candidate, options)
            if letter is not None:
                return letter
        m = re.findall(rf"\b([{letters}])\b", final)
        if m:
            return m[-1]
        return raw
    if kind == YES_NO:
        for candidate in (final, raw):
            words = re.findall(r"\b(yes|no)\b", candidate, re.I)
            if words:
                return "Yes." if words[-1 if candidate is raw else 0].lower() == "yes" else "No."
        return raw
    return final


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


def user_text(question: str, depth_sentence: str = "", cot: bool = False) -> str:
    """The text of the user's turn: depth words, the question, and the chain-of-thought instruction."""
    parts = [p for p in (depth_sentence, strip_image_marker(question).strip()) if p]
    if cot and question_kind(question) in (MC, YES_NO):
        parts.append(COT_INSTRUCTION)
    return " ".join(parts)


def template_of(question: str) -> str:
    """The question with object tags and numbers abstracted: the key of the image-blind baseline."""
    q = _TAG.sub("<obj>", strip_image_marker(question))
    return _NUMBER.sub("#", q).strip()
