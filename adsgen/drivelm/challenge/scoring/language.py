"""Language metrics with coco-caption's definitions: BLEU-1..4, ROUGE-L and CIDEr-D.

Inputs are already tokenised strings (tokens separated by spaces, see ``tokenizer.tokenize``), one
hypothesis and one or more references per item. The definitions follow coco-caption (the
``pycocoevalcap`` scorers the DriveLM challenge calls through ``language_evaluation``):

- BLEU-n: corpus level. Clipped n-gram matches and n-gram counts are summed over all items; the
  reference length of an item is the reference length closest to the hypothesis length (ties: the
  shorter); BLEU-n = (prod_{k<=n} (correct_k + 1e-15) / (guess_k + 1e-9))^(1/n), times the brevity
  penalty exp(1 - ref/hyp) when the summed hypothesis length is below the summed reference length.
- ROUGE-L: per item, F-measure of the longest common subsequence with beta = 1.2 (precision and recall
  are each the maximum over references), averaged over items. Texts are split on single spaces.
- CIDEr-D: n = 1..4 TF-IDF vectors (document frequency over the references of the evaluated set,
  idf = log(#items) - log(max(1, df))), similarity min(hyp, ref) . ref / (|hyp| |ref|) with the Gaussian
  length penalty exp(-(l_hyp - l_ref)^2 / (2 * 6^2)), where the length l is the number of bigrams (as
  coco-caption counts it); mean over n, averaged over references, times 10, averaged over items.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

_BLEU_TINY = 1e-15   # added to match counts (coco-caption)
_BLEU_SMALL = 1e-9   # added to n-gram counts (coco-caption)
ROUGE_BETA = 1.2
CIDER_SIGMA = 6.0    # Gaussian length penalty, in tokens
CIDER_N = 4
BLEU_N = 4


def ngram_counts(tokens: Sequence[str], n: int) -> Counter:
    """Counts of every 1..n-gram of a token list."""
    counts: Counter = Counter()
    for k in range(1, n + 1):
        for i in range(len(tokens) - k + 1):
            counts[tuple(tokens[i:i + k])] += 1
    return counts


def bleu(hyps: Sequence[str], refs: Sequence[Sequence[str]], n: int = BLEU_N) -> list[float]:
    """Corpus BLEU-1..n of tokenised hypotheses against their references (coco-caption 'closest')."""
    correct = [0] * n
    guess = [0] * n
    hyp_len = ref_len = 0
    for hyp, item_refs in zip(hyps, refs, strict=True):
        words = hyp.split()
        counts = ngram_counts(words, n)
        max_ref: dict[tuple, int] = {}
        lens = []
        for ref in item_refs:
            rwords = ref.split()
            lens.append(len(rwords))
            for ng, c in ngram_counts(rwords, n).items():
                max_ref[ng] = max(max_ref.get(ng, 0), c)
        hyp_len += len(words)
        ref_len += min(lens, key=lambda r: (abs(r - len(words)), r))
        for k in range(n):
            guess[k] += max(0, len(words) - k)
        for ng, c in counts.items():
            correct[len(ng) - 1] += min(max_ref.get(ng, 0), c)
    scores = []
    prod = 1.0
    for k in range(n):
        prod *= (correct[k] + _BLEU_TINY) / (guess[k] + _BLEU_SMALL)
        scores.append(prod ** (1.0 / (k + 1)))
    ratio = (hyp_len + _BLEU_TINY) / (ref_len + _BLEU_SMALL)
    if ratio < 1:
        scores = [s * math.exp(1 - 1 / ratio) for s in scores]
    return scores


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token lists (O(len(a) * len(b)))."""
    if len(a) < len(b):
        a, b = b, a
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b, start=1):
            cur[j] = prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1])
        prev = cur
    return prev[-1]


def rouge_l_item(hyp: str, refs: Sequence[str], beta: float = ROUGE_BETA) -> float:
    """ROUGE-L F-measure of one hypothesis (texts split on single spaces, as coco-caption does)."""
    cand = hyp.split(" ")
    precs, recs = [], []
    for ref in refs:
        rtoks = ref.split(" ")
        lcs = lcs_length(rtoks, cand)
        precs.append(lcs / len(cand))
        recs.append(lcs / len(rtoks))
    p, r = max(precs), max(recs)
    if p == 0 or r == 0:
        return 0.0
    return (1 + beta ** 2) * p * r / (r + beta ** 2 * p)


def rouge_l(hyps: Sequence[str], refs: Sequence[Sequence[str]]) -> float:
    """Mean ROUGE-L over items."""
    scores = [rouge_l_item(h, r) for h, r in zip(hyps, refs, strict=True)]
    return sum(scores) / len(scores)


@dataclass
class _Vec:
    weights: list[dict]   # per n: n-gram -> tf-idf weight
    norms: list[float]    # per n: Euclidean norm
    length: int           # number of bigrams (coco-caption's 'length')


def cider_d(hyps: Sequence[str], refs: Sequence[Sequence[str]], n: int = CIDER_N,
            sigma: float = CIDER_SIGMA) -> tuple[float, list[float]]:
    """CIDEr-D over the set (idf from these references): (mean, per-item scores)."""
    hyp_counts = [ngram_counts(h.split(), n) for h in hyps]
    ref_counts = [[ngram_counts(r.split(), n) for r in item] for item in refs]
    df: Counter = Counter()
    for item in ref_counts:
        for ng in {ng for rc in item for ng in rc}:
            df[ng] += 1
    log_items = math.log(float(len(ref_counts)))

    def vec(counts: Counter) -> _Vec:
        weights: list[dict] = [{} for _ in range(n)]
        norms = [0.0] * n
        length = 0
        for ng, tf in counts.items():
            k = len(ng) - 1
            w = float(tf) * (log_items - math.log(max(1.0, df[ng])))
            weights[k][ng] = w
            norms[k] += w * w
            if k == 1:
                length += tf
        return _Vec(weights, [math.sqrt(x) for x in norms], length)

    def sim(h: _Vec, r: _Vec) -> list[float]:
        delta = float(h.length - r.length)
        penalty = math.exp(-(delta ** 2) / (2 * sigma ** 2))
        out = []
        for k in range(n):
            val = 0.0
            for ng, w in h.weights[k].items():
                wr = r.weights[k].get(ng, 0.0)
                val += min(w, wr) * wr
            if h.norms[k] != 0 and r.norms[k] != 0:
                val /= h.norms[k] * r.norms[k]
            out.append(val * penalty)
        return out

    scores = []
    for hc, rcs in zip(hyp_counts, ref_counts, strict=True):
        hv = vec(hc)
        total = [0.0] * n
        for rc in rcs:
            for k, v in enumerate(sim(hv, vec(rc))):
                total[k] += v
        scores.append(sum(total) / n / len(rcs) * 10.0)
    return sum(scores) / len(scores), scores


def language_scores(hyps: Sequence[str], refs: Sequence[Sequence[str]]) -> dict[str, float]:
    """{Bleu_1..Bleu_4, ROUGE_L, CIDEr} of tokenised hypotheses against references (non-empty set)."""
    if not hyps:
        raise ValueError("no items to score")
    b = bleu(hyps, refs)
    out = {f"Bleu_{k + 1}": float(v) for k, v in enumerate(b)}
    out["ROUGE_L"] = float(rouge_l(hyps, refs))
    out["CIDEr"] = float(cider_d(hyps, refs)[0])
    return out
