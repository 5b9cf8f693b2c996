"""Coordinate matching, as the DriveLM challenge scores it.

Decimals are read from a text with the pattern ``\\d+\\.\\d+`` and paired in order into (x, y) points (a
trailing odd decimal of an answer is dropped). Each predicted point, in order, is matched to the
nearest not yet matched truth point by L1 distance (first one on ties); it is a true positive when that
distance is below 16 px, and the truth point is then used up. F1 = 2PR / (P + R + 1e-8) with
P = TP / (TP + FP + 1e-8) and R = TP / (TP + FN + 1e-8): the epsilons are the challenge's, so a
perfect answer scores 0.99999999..., not 1.

The matched truth points of a frame's first answer (the important objects) are the objects the model
found; a later question of the frame is scored only when every point in its question text is one of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from adsgen.errors import InputError

DECIMAL_RE = re.compile(r"\d+\.\d+")
MATCH_THRESHOLD_PX = 16.0   # L1 distance below which a predicted point matches a truth point
_EPS = 1e-8

Point = tuple[float, float]


def read_points(text: str, drop_odd: bool) -> list[Point]:
    """(x, y) pairs of the decimals in a text. ``drop_odd``: drop a trailing unpaired decimal (answers);
    otherwise an odd count raises ValueError (the official script fails on it)."""
    nums = [float(x) for x in DECIMAL_RE.findall(text)]
    if len(nums) % 2:
        if not drop_odd:
            raise ValueError(f"odd number of decimals ({len(nums)}) in {text[:80]!r}")
        nums = nums[:-1]
    return [(nums[i], nums[i + 1]) for i in range(0, len(nums), 2)]


@dataclass(frozen=True)
class MatchResult:
    matched_truth: list[Point]   # truth points matched, in the order they were matched
    f1: float                    # 0..1
    true_positives: int
    false_positives: int
    false_negatives: int


def match_points(answer: str, truth: str, source: str = "") -> MatchResult:
    """Greedy nearest-point matching of the answer's points to the truth's points (see module doc)."""
    pred = read_points(answer, drop_odd=True)
    try:
        gt = read_points(truth, drop_odd=False)
    except ValueError as exc:
        raise InputError(f"{source}: ground-truth answer: {exc}") from None
    n_truth = len(gt)
    remaining = list(gt)
    matched: list[Point] = []
    tp = fp = 0
    for px, py in pred:
        best_d, best_i = float("inf"), -1
        for i, (gx, gy) in enumerate(remaining):
            d = abs(px - gx) + abs(py - gy)
            if d < best_d:
                best_d, best_i = d, i
        if best_d < MATCH_THRESHOLD_PX:
            tp += 1
            matched.append(remaining.pop(best_i))
        else:
            fp += 1
    fn = n_truth - tp
    precision = tp / (tp + fp + _EPS)
    recall = tp / (tp + fn + _EPS)
    f1 = 2 * precision * recall / (precision + recall + _EPS)
    return MatchResult(matched, f1, tp, fp, fn)


def question_in_graph(question: str, found: list[Point], source: str = "") -> bool:
    """True when every point named in the question is among the found (matched truth) points."""
    try:
        points = read_points(question, drop_odd=False)
    except ValueError as exc:
        raise InputError(f"{source}: question text: {exc}; the challenge's scorer cannot read it") from None
    return all(p in found for p in points)
