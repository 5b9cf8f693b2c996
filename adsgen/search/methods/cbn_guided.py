"""CBN-guided risk search (after Zhao et al. 2024, arXiv 2405.16063), with simulator feedback.

Per seed:
1. Rank: every factor combination its contract allows gets the CBN's severity risk (observational, or
   interventional with do-semantics) and plausibility; combinations outside the most plausible
   ``plausible_mass`` of the CBN's probability within the contract are dropped.
2. Diversify: the top ``shortlist`` combinations are clustered by Hamming distance (scipy hierarchical
   clustering) and proposals are drawn cluster by cluster, so no single region of the factor space
   takes the whole budget.
3. Search dynamic parameters with the cross-entropy method (one sampler per seed, refitted to the
   parameters of the high-risk runs), so each factor combination is tried where the seed is dangerous.
4. Feed back: a Thompson-sampled naive-Bayes model of P(high-risk | factor states, parameter bins),
   learned online from every simulated outcome (a valid failure counts 1, see ``target``), rescores the proposals each iteration together with the
   CBN's risk. Cells (combination, parameter bins) already found are never proposed again, so the budget
   goes to *distinct* scenarios; seeds get budget by their yield of new distinct valid failures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from adsgen.search.cem import CrossEntropySampler
from adsgen.search.evaluator import Candidate, CandidateOutcome, Evaluator
from adsgen.search.risk import CBNRisk, CombinationTable
from adsgen.search.space import SeedSpace, factor_key
from adsgen.sim.judge import Verdict

PARTIAL_CREDIT = 0.25
"""Target of a high-risk run that is not a judged valid failure but may sit next to one (at fault, not
unavoidable: the reference failed too, or the budget left it unjudged)."""


def target(o: CandidateOutcome) -> float:
    """What the yield model learns: 1 for a valid failure, PARTIAL_CREDIT for a high-risk run that is
    neither unavoidable nor the ego's fault, 0 otherwise."""
    if o.verdict == Verdict.VALID_FAILURE.value:
        return 1.0
    if o.high_risk and o.verdict not in (Verdict.UNAVOIDABLE.value, Verdict.NOT_AT_FAULT.value):
        return PARTIAL_CREDIT
    return 0.0


@dataclass
class YieldModel:
    """Online naive-Bayes estimate of P(high-risk) from factor states and parameter bins, one seed."""

    space: SeedSpace
    hits: float = 0.0
    trials: float = 0.0
    state_hits: dict[tuple[str, str], float] = field(default_factory=dict)
    state_trials: dict[tuple[str, str], float] = field(default_factory=dict)
    bin_hits: np.ndarray = field(init=False)    # (params, max_bins)
    bin_trials: np.ndarray = field(init=False)  # (params, max_bins)

    def __post_init__(self) -> None:
        nb = int(self.space.bins.max()) if self.space.n_params else 1
        self.bin_hits = np.zeros((self.space.n_params, nb))
        self.bin_trials = np.zeros((self.space.n_params, nb))

    def update(self, outcomes: list[CandidateOutcome]) -> None:
        for o in outcomes:
            y = target(o)
            self.hits += y
            self.trials += 1
            for f, s in o.candidate.factors.items():
                self.state_hits[(f, s)] = self.state_hits.get((f, s), 0.0) + y
                self.state_trials[(f, s)] = self.state_trials.get((f, s), 0.0) + 1
            for j, b in enumerate(self.space.bin_index(o.candidate.unit)):
                self.bin_hits[j, b] += y
                self.bin_trials[j, b] += 1

    def sample_log_odds(self, factors: list[dict[str, str]], units: np.ndarray,
                        rng: np.random.Generator) -> np.ndarray:
        """Thompson draw of log-odds of high-risk for each proposal (n,)."""
        base = float(rng.beta(1 + self.hits, 1 + self.trials - self.hits))
        base_lo = np.log(base / (1 - base))
        draws: dict[tuple[str, str], float] = {}
        out = np.full(len(factors), base_lo)
        for i, fs in enumerate(factors):
            for f, s in fs.items():
                if len(self.space.choices[f]) < 2:
                    continue
                if (f, s) not in draws:
                    h = self.state_hits.get((f, s), 0.0)
                    t = self.state_trials.get((f, s), 0.0)
                    p = rng.beta(1 + h + 2 * base, 1 + t - h + 2 * (1 - base))  # shrunk to the base rate
                    draws[(f, s)] = np.log(p / (1 - p)) - base_lo
                out[i] += draws[(f, s)]
        if self.space.n_params:
            pb = rng.beta(1 + self.bin_hits + 2 * base, 1 + self.bin_trials - self.bin_hits + 2 * (1 - base))
            lo = np.log(pb / (1 - pb)) - base_lo  # (params, bins)
            idx = np.minimum((units * self.space.bins).astype(int), self.space.bins - 1)  # (n, params)
            out += lo[np.arange(self.space.n_params), idx].sum(axis=1)
        return out


@dataclass
class SeedState:
    space: SeedSpace
    table: CombinationTable
    candidates: np.ndarray        # (k,) combination indices kept (plausible), in cluster-interleaved rank order
    cbn_score: np.ndarray         # (k,) standardised CBN log-risk of each kept combination
    sampler: CrossEntropySampler
    model: YieldModel
    tried: dict[tuple, int] = field(default_factory=dict)   # (combo key, bins) -> runs
    found: set[tuple] = field(default_factory=set)          # (combo key, bins) found high-risk
    runs: int = 0
    new: int = 0


@dataclass(frozen=True)
class CBNGuidedSearch:
    risk_model: CBNRisk
    iterations: int = 20
    """Feedback iterations the budget is spread over."""
    plausible_mass: float = 0.95
    """Keep the most plausible combinations covering this share of the CBN's mass within the contract."""
    plausibility_weight: float = 0.25
    """CBN rank score = log risk + weight * log plausibility (normalised within the contract)."""
    shortlist: int = 400
    """Top-ranked combinations clustered for diversity; the rest follow in rank order."""
    clusters: int = 16
    cbn_weight: float = 1.0
    """Weight of the CBN's (standardised) log-risk in a proposal's score, beside the learned yield."""
    proposals_per_run: int = 12
    """Proposals scored for each run that is simulated."""
    rank_temperature: float = 0.15
    """Proposals draw combinations with probability decaying as exp(-rank / (temperature * kept))."""
    max_tries_per_cell: int = 2
    """A cell (combination, parameter bins) that stayed below the risk threshold is retried at most this often."""
    equal_share: float = 0.5
    """Share of each iteration split equally between seeds; the rest follows each seed's recent yield."""

    def search(self, ev: Evaluator, spaces: list[SeedSpace], rng: np.random.Generator) -> None:
        states = [self._init_seed(sp) for sp in spaces]
        per_iter = max(len(spaces) * 4, int(np.ceil(ev.budget / max(self.iterations, 1))))
        while ev.remaining > 0:
            ev.iteration += 1
            n_iter = min(per_iter, ev.remaining)
            share = self._seed_shares(states, n_iter, rng, self.equal_share)
            batch: list[Candidate] = []
            owner: list[SeedState] = []
            for st, n in zip(states, share, strict=True):
                for c in self._propose(st, int(n), rng):
                    batch.append(c)
                    owner.append(st)
            if not batch:  # every cell of every seed tried: fall back to repeats with fresh parameters
                st = states[ev.iteration % len(states)]
                batch = [Candidate(st.space, st.table.combos[st.candidates[0]], u)
                         for u in st.sampler.sample(n_iter, rng)]
                owner = [st] * len(batch)
            outcomes = ev.evaluate(batch)
            self._feedback(owner[: len(outcomes)], outcomes)

    # -- setup -------------------------------------------------------------------------------------
    def _init_seed(self, sp: SeedSpace) -> SeedState:
        table = self.risk_model.table(sp)
        norm = table.log_plausibility - np.logaddexp.reduce(table.log_plausibility)  # log P(combo | contract)
        order = np.argsort(-norm, kind="stable")
        mass = np.cumsum(np.exp(norm[order]))
        keep = order[: int(np.searchsorted(mass, self.plausible_mass) + 1)]
        log_risk = np.log(np.clip(table.risk, 1e-12, None))
        score = log_risk[keep] + self.plausibility_weight * norm[keep]
        ranked = keep[np.argsort(-score, kind="stable")]
        ranked = self._interleave_clusters(table, ranked)
        lr = log_risk[ranked]
        std = lr.std() if lr.std() > 0 else 1.0
        return SeedState(sp, table, ranked, (lr - lr.mean()) / std,
                         CrossEntropySampler.start(sp.nominal_unit(), std=0.3, min_std=0.15),
                         YieldModel(sp))

    def _interleave_clusters(self, table: CombinationTable, ranked: np.ndarray) -> np.ndarray:
        """Rank order, but the shortlist re-ordered round-robin over its Hamming-distance clusters."""
        short = ranked[: self.shortlist]
        if len(short) <= 2:
            return ranked
        from scipy.cluster.hierarchy import fcluster, linkage

        names = list(table.space.choices)
        codes = np.array([[table.space.choices[f].index(table.combos[i][f]) for f in names]
                          for i in short])  # (shortlist, factors)
        codes = codes[:, codes.std(axis=0) > 0]
        if codes.shape[1] == 0:
            return ranked
        labels = fcluster(linkage(codes, metric="hamming", method="average"),
                          t=min(self.clusters, len(short)), criterion="maxclust")
        queues: dict[int, list[int]] = {}
        for i, lab in zip(short, labels, strict=True):
            queues.setdefault(int(lab), []).append(int(i))
        order: list[int] = []
        lists = list(queues.values())
        while any(lists):
            for q in lists:
                if q:
                    order.append(q.pop(0))
        return np.array(order + [int(i) for i in ranked[self.shortlist:]])

    # -- each iteration ------------------------------------------------------------------------------
    @staticmethod
    def _seed_shares(states: list[SeedState], n: int, rng: np.random.Generator, equal: float) -> np.ndarray:
        """`equal` of the iteration split equally, the rest by each seed's Thompson-sampled yield of new finds."""
        rate = np.array([rng.beta(1.0 + st.new, 1.0 + st.runs - st.new) for st in states])
        share = equal / len(states) + (1.0 - equal) * rate / rate.sum()
        raw = share * n
        out = np.floor(raw).astype(int)
        for i in np.argsort(-(raw - out))[: n - out.sum()]:
            out[i] += 1
        return out

    def _propose(self, st: SeedState, n: int, rng: np.random.Generator) -> list[Candidate]:
        if n <= 0:
            return []
        k = len(st.candidates)
        m = n * self.proposals_per_run
        weights = np.exp(-np.arange(k) / max(1.0, self.rank_temperature * k))
        pick = rng.choice(k, size=m, p=weights / weights.sum())              # (m,) positions in rank order
        units = st.sampler.sample(m, rng) if st.space.n_params else np.zeros((m, 0))  # (m, params)
        combos = [st.table.combos[st.candidates[j]] for j in pick]
        score = st.model.sample_log_odds(combos, units, rng) + self.cbn_weight * st.cbn_score[pick]
        chosen: list[Candidate] = []
        taken: set[tuple] = set()
        for i in np.argsort(-score, kind="stable"):
            cell = (factor_key(combos[i]), st.space.bin_index(units[i]))
            if cell in taken or cell in st.found or st.tried.get(cell, 0) >= self.max_tries_per_cell:
                continue
            taken.add(cell)
            chosen.append(Candidate(st.space, combos[i], units[i]))
            if len(chosen) == n:
                break
        return chosen

    def _feedback(self, owner: list[SeedState], outcomes: list[CandidateOutcome]) -> None:
        per_seed: dict[int, tuple[SeedState, list[CandidateOutcome]]] = {}
        for st, o in zip(owner, outcomes, strict=True):
            per_seed.setdefault(id(st), (st, []))[1].append(o)
            cell = (factor_key(o.candidate.factors), st.space.bin_index(o.candidate.unit))
            st.tried[cell] = st.tried.get(cell, 0) + 1
            if o.high_risk:
                st.found.add(cell)
            st.runs += 1
            st.new += o.new_valid
        for st, outs in per_seed.values():
            st.model.update(outs)
            if st.space.n_params:
                units = np.array([o.candidate.unit for o in outs])
                scores = np.array([(-1.0 if o.high_risk else 0.0) + 0.05 * o.fitness for o in outs])
                st.sampler.update(units, scores)
