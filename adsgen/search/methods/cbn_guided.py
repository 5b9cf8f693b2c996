"""CBN-guided risk search (after Zhao et al. 2024, arXiv 2405.16063).

Per seed:
1. rank every factor combination its contract allows by the CBN's severity risk, among the plausible ones
   (the combinations covering ``plausible_mass`` of the CBN's probability within the contract);
2. pick a diverse set: cluster the top ``shortlist`` combinations by Hamming distance (scipy hierarchical
   clustering) and take the riskiest of each cluster as an *arm*; the rest wait in a queue;
3. search each arm's dynamic parameters in the simulator with the cross-entropy method;
4. feed outcomes back: each iteration, arms get runs by Thompson sampling on their yield of new distinct
   high-risk scenarios (a Beta posterior whose prior is the CBN's risk), seeds by their recent yield;
   an arm that stops yielding is retired and the next combination from an unused cluster takes its place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from adsgen.search.cem import CrossEntropySampler
from adsgen.search.evaluator import Candidate, Evaluator, Outcome
from adsgen.search.risk import CBNRisk, CombinationTable
from adsgen.search.space import SeedSpace


@dataclass
class Arm:
    """One factor combination being searched."""

    factors: dict[str, str]
    risk: float
    log_plausibility: float
    sampler: CrossEntropySampler
    runs: int = 0
    high_risk: int = 0
    new: int = 0
    recent: list[int] = field(default_factory=list)  # 1 = new distinct high-risk, per run

    def yield_posterior(self, prior_strength: float, rng: np.random.Generator) -> float:
        a = 1.0 + self.new + prior_strength * self.risk
        b = 1.0 + (self.runs - self.new) + prior_strength * (1.0 - self.risk)
        return float(rng.beta(a, b))


@dataclass
class SeedState:
    space: SeedSpace
    table: CombinationTable
    queue: list[int]            # combination indices waiting, best first, cluster representatives first
    arms: list[Arm] = field(default_factory=list)
    runs: int = 0
    new: int = 0


@dataclass(frozen=True)
class CBNGuidedSearch:
    risk_model: CBNRisk
    iterations: int = 20
    """Feedback iterations the budget is spread over."""
    arms_per_seed: int = 6
    """Combinations searched at once per seed."""
    shortlist: int = 60
    """Top-ranked combinations that are clustered for diversity."""
    clusters: int = 12
    plausible_mass: float = 0.9
    """Keep the most plausible combinations covering this share of the CBN's mass within the contract."""
    plausibility_weight: float = 0.25
    """Rank score = log risk + weight * log plausibility (normalised within the contract)."""
    prior_strength: float = 4.0
    """Pseudo-runs the CBN's risk is worth in an arm's Beta prior."""
    retire_after: int = 10
    """An arm whose last `retire_after` runs found nothing new is replaced."""
    min_runs_per_arm: int = 2

    def search(self, ev: Evaluator, spaces: list[SeedSpace], rng: np.random.Generator) -> None:
        states = [self._init_seed(sp, rng) for sp in spaces]
        per_iter = max(len(spaces) * self.arms_per_seed * self.min_runs_per_arm,
                       int(np.ceil(ev.budget / max(self.iterations, 1))))
        while ev.remaining > 0:
            ev.iteration += 1
            n_iter = min(per_iter, ev.remaining)
            plan = self._plan(states, n_iter, rng)
            batch: list[Candidate] = []
            owners: list[tuple[SeedState, Arm]] = []
            for st, arm, n in plan:
                units = arm.sampler.sample(n, rng) if st.space.n_params else np.zeros((n, 0))
                for u in units:
                    batch.append(Candidate(st.space, arm.factors, u))
                    owners.append((st, arm))
            outcomes = ev.evaluate(batch)
            self._feedback(owners[: len(outcomes)], outcomes, rng)

    # -- setup -------------------------------------------------------------------------------------
    def _init_seed(self, sp: SeedSpace, rng: np.random.Generator) -> SeedState:
        table = self.risk_model.table(sp)
        logp = table.log_plausibility
        norm = logp - np.logaddexp.reduce(logp)          # log P(combo | contract)
        order = np.argsort(-norm, kind="stable")
        mass = np.cumsum(np.exp(norm[order]))
        keep = order[: int(np.searchsorted(mass, self.plausible_mass) + 1)]
        score = np.log(np.clip(table.risk[keep], 1e-12, None)) + self.plausibility_weight * norm[keep]
        ranked = keep[np.argsort(-score, kind="stable")]
        short = ranked[: self.shortlist]
        reps = self._cluster_representatives(table, short)
        rest = [int(i) for i in ranked if int(i) not in set(reps)]
        st = SeedState(sp, table, reps + rest)
        centre = sp.nominal_unit()
        while len(st.arms) < self.arms_per_seed and st.queue:
            st.arms.append(self._new_arm(st, centre))
        return st

    def _cluster_representatives(self, table: CombinationTable, short: np.ndarray) -> list[int]:
        """The best-ranked combination of each Hamming-distance cluster, in rank order."""
        if len(short) <= 2:
            return [int(i) for i in short]
        from scipy.cluster.hierarchy import fcluster, linkage

        names = list(table.space.choices)
        codes = np.array([[table.space.choices[f].index(table.combos[i][f]) for f in names]
                          for i in short])  # (shortlist, factors)
        varying = codes[:, codes.std(axis=0) > 0]
        if varying.shape[1] == 0:
            return [int(short[0])]
        z = linkage(varying, metric="hamming", method="average")
        labels = fcluster(z, t=min(self.clusters, len(short)), criterion="maxclust")
        reps, seen = [], set()
        for i, lab in zip(short, labels, strict=True):  # short is in rank order: first of a cluster is best
            if lab not in seen:
                seen.add(lab)
                reps.append(int(i))
        return reps

    def _new_arm(self, st: SeedState, centre: np.ndarray) -> Arm:
        i = st.queue.pop(0)
        t = st.table
        return Arm(dict(t.combos[i]), float(t.risk[i]), float(t.log_plausibility[i]),
                   CrossEntropySampler.start(centre, std=0.3))

    # -- each iteration ------------------------------------------------------------------------------
    def _plan(self, states: list[SeedState], n: int, rng: np.random.Generator) -> list[tuple[SeedState, Arm, int]]:
        # seeds share the iteration by their (smoothed) yield of new distinct high-risk scenarios
        seed_rate = np.array([rng.beta(1.0 + st.new, 1.0 + st.runs - st.new) for st in states])
        live = [st for st in states if st.arms]
        if not live:
            return []
        seed_rate = np.array([r for r, st in zip(seed_rate, states, strict=True) if st.arms])
        share = 0.5 / len(live) + 0.5 * seed_rate / seed_rate.sum()  # half equal, half by yield
        seed_n = self._apportion(share, n)
        plan = []
        for st, k in zip(live, seed_n, strict=True):
            if k <= 0:
                continue
            rates = np.array([a.yield_posterior(self.prior_strength, rng) for a in st.arms])
            arm_n = self._apportion(rates / rates.sum(), k)
            plan += [(st, a, int(m)) for a, m in zip(st.arms, arm_n, strict=True) if m > 0]
        return plan

    @staticmethod
    def _apportion(share: np.ndarray, n: int) -> np.ndarray:
        raw = share * n
        out = np.floor(raw).astype(int)
        for i in np.argsort(-(raw - out))[: n - out.sum()]:
            out[i] += 1
        return out

    def _feedback(self, owners: list[tuple[SeedState, Arm]], outcomes: list[Outcome],
                  rng: np.random.Generator) -> None:
        per_arm: dict[int, tuple[SeedState, Arm, list[Outcome]]] = {}
        for (st, arm), o in zip(owners, outcomes, strict=True):
            per_arm.setdefault(id(arm), (st, arm, []))[2].append(o)
            arm.runs += 1
            arm.high_risk += o.high_risk
            arm.new += o.new
            arm.recent.append(int(o.new))
            st.runs += 1
            st.new += o.new
        for _st, arm, outs in per_arm.values():
            units = np.array([o.candidate.unit for o in outs])
            # elites: new distinct failures first, then known failures, then the lowest min TTC
            scores = np.array([(-2.0 if o.new else -1.0 if o.high_risk else 0.0) + 0.1 * o.fitness
                               for o in outs])
            arm.sampler.update(units, scores)
        for st in {id(s): s for s, _ in owners}.values():
            keep = []
            for arm in st.arms:
                tail = arm.recent[-self.retire_after:]
                if len(tail) >= self.retire_after and sum(tail) == 0 and st.queue:
                    continue  # retired: it stopped finding new high-risk scenarios
                keep.append(arm)
            while len(keep) < self.arms_per_seed and st.queue:
                keep.append(self._new_arm(st, st.space.nominal_unit()))
            st.arms = keep

