"""Judges for the GPT-scored parts of the DriveLM metric.

The challenge asks gpt-3.5-turbo to rate each answer 0-100 against the truth; that cannot be reproduced
offline. A judge here is any object with ``name`` and ``rate(pairs) -> list[float | None]`` (one rating
0-100 per (answer, truth) pair, None when the judge's reply held no rating). ``TransformersJudge`` runs a
local causal language model (a folder with a transformers model and tokenizer) with the challenge's
prompt. With no judge the GPT parts are reported as missing; they are never filled in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

from adsgen.errors import ConfigError, MissingExtraError

# The challenge's instruction to its judge (challenge/gpt_eval.py), so a local judge is asked the same.
JUDGE_SYSTEM = "an evaluator who rates my answer based on the correct answer"
JUDGE_INSTRUCTION = ("Rate my answer based on the correct answer out of 100, with higher scores indicating "
                     "that the answer is closer to the correct answer, and you should be accurate to single "
                     "digits like 62, 78, 41,etc. Output the number only")
_RATING_RE = re.compile(r"\b(100|[1-9]?\d)(?:\.\d+)?\b")


def judge_prompt(answer: str, truth: str) -> str:
    return JUDGE_INSTRUCTION + "This is the correct answer: " + truth + "This is my answer: " + answer


def parse_rating(reply: str) -> float | None:
    """The first number 0-100 in a judge's reply, or None."""
    m = _RATING_RE.search(reply)
    return float(m.group(1)) if m else None


class Judge(Protocol):
    name: str

    def rate(self, pairs: list[tuple[str, str]]) -> list[float | None]:
        """One rating 0-100 (or None when unreadable) per (answer, truth) pair."""
        ...


@dataclass
class TransformersJudge:
    """A local causal LM as judge: greedy decoding of a few tokens, first number 0-100 taken."""

    path: Path
    max_new_tokens: int = 6   # the rating is a number of at most 3 digits
    batch_size: int = 8       # pairs per generate() call
    device: str = "cpu"       # torch device

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        if not self.path.is_dir():
            raise ConfigError(f"--judge {self.path}: not a folder with a transformers model (or 'none')")
        try:
            import torch  # noqa: F401
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:
            raise MissingExtraError("vlm", exc.name or "transformers", "a local judge model") from None
        try:
            # Any: transformers' annotations of these auto classes reject their documented use (.to(device))
            self._tok: Any = cast(Any, AutoTokenizer.from_pretrained(self.path, local_files_only=True))
            self._model: Any = cast(Any, AutoModelForCausalLM.from_pretrained(self.path, local_files_only=True))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"--judge {self.path}: cannot load a causal language model: {exc}") from None
        self._model.to(self.device).eval()
        if self._tok.pad_token is None:
            self._tok.pad_token = self._tok.eos_token
        self._tok.padding_side = "left"
        self.name = f"transformers:{self.path.name}"

    def _text(self, answer: str, truth: str) -> str:
        prompt = judge_prompt(answer, truth)
        if getattr(self._tok, "chat_template", None):
            messages = [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": prompt}]
            return str(self._tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
        return f"{JUDGE_SYSTEM}\n{prompt}\n"

    def rate(self, pairs: list[tuple[str, str]]) -> list[float | None]:
        import torch

        out: list[float | None] = []
        for start in range(0, len(pairs), self.batch_size):
            texts = [self._text(a, t) for a, t in pairs[start:start + self.batch_size]]
            enc = self._tok(texts, return_tensors="pt", padding=True).to(self.device)
            with torch.no_grad():
                gen = self._model.generate(**enc, max_new_tokens=self.max_new_tokens, do_sample=False,
                                           pad_token_id=self._tok.pad_token_id)
            replies = self._tok.batch_decode(gen[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
            out.extend(parse_rating(r) for r in replies)
        return out


def make_judge(spec: str | None) -> Judge | None:
    """'none' (or None) -> no judge; a folder -> TransformersJudge on it."""
    if spec is None or spec.strip().lower() in ("", "none"):
        return None
    return TransformersJudge(Path(spec))
