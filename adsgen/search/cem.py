"""Cross-entropy method over a unit cube: the adaptive sampler for one factor combination's parameters."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class CrossEntropySampler:
    """A diagonal Gaussian over [0, 1]^d refitted to the elite samples of each round.

    Lower scores are better. ``min_std`` keeps it exploring so it keeps finding *distinct* cells
    instead of collapsing on one failure.
    """

    mean: np.ndarray   # (d,)
    std: np.ndarray    # (d,)
    elite_frac: float = 0.3
    smoothing: float = 0.7
    min_std: float = 0.08

    @classmethod
    def start(cls, centre: np.ndarray, std: float = 0.3, **kw) -> CrossEntropySampler:
        d = len(centre)
        return cls(np.asarray(centre, dtype=float).copy(), np.full(d, std), **kw)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        x = self.mean + self.std * rng.standard_normal((n, len(self.mean)))  # (n, d)
        # reflect into the cube rather than clip, so the boundary is not over-sampled
        x = np.abs(x)
        x = 1.0 - np.abs(1.0 - x)
        return np.clip(x, 0.0, 1.0)

    def update(self, samples: np.ndarray, scores: np.ndarray) -> None:
        if len(samples) == 0 or samples.shape[1] == 0:
            return
        k = max(1, int(np.ceil(self.elite_frac * len(samples))))
        elite = samples[np.argsort(scores, kind="stable")[:k]]  # (k, d)
        a = self.smoothing
        self.mean = a * elite.mean(axis=0) + (1 - a) * self.mean
        spread = elite.std(axis=0) if k > 1 else self.std
        self.std = np.maximum(a * spread + (1 - a) * self.std, self.min_std)
