"""The DriveLM challenge's scoring, reproduced in pure Python (no Java, no network).

``evaluate(predictions, ground_truth, judge=None) -> dict`` is the entry point; see ``evaluate.py`` for
the rules, ``match.py`` (coordinate F1 and the first-question gate), ``language.py`` (BLEU, ROUGE-L,
CIDEr-D), ``tokenizer.py`` (coco-caption's PTB tokenisation) and ``judge.py`` (local judges).
"""

from adsgen.drivelm.challenge.scoring.evaluate import WEIGHTS, evaluate, language_part, language_term
from adsgen.drivelm.challenge.scoring.judge import Judge, TransformersJudge, make_judge
from adsgen.drivelm.challenge.scoring.language import bleu, cider_d, language_scores, rouge_l
from adsgen.drivelm.challenge.scoring.match import match_points, question_in_graph
from adsgen.drivelm.challenge.scoring.tokenizer import tokenize, tokenize_all

__all__ = ["WEIGHTS", "Judge", "TransformersJudge", "bleu", "cider_d", "evaluate", "language_part",
           "language_scores", "language_term", "make_judge", "match_points", "question_in_graph", "rouge_l",
           "tokenize", "tokenize_all"]
