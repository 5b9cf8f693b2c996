"""R bnlearn's structure learners on a CSV, through ``Rscript``: the outside baseline of the benchmarks.

Nothing here is needed to learn a model; the benchmarks call it when ``Rscript`` and the bnlearn package
are installed and say so when they are not. The R script reads the CSV with every column as a factor
(``read.csv(colClasses = "factor")``), then runs each requested learner on the same data frame and prints
its wall times (``proc.time()`` elapsed: the read, and each search) and arcs. R's own start-up and
``library(bnlearn)`` are timed apart (``r_startup_s``), so the read + search figures compare with adsgen's
read + encode + search in one process.

Learners: ``hc`` (``bnlearn::hc``, defaults), ``tabu`` (``bnlearn::tabu(tabu = 100, max.tabu = 100)``, the
issue's baseline) and ``hc_restart`` (``hc(restart = 50, perturb = 3)``). Scores: ``bic`` (bnlearn's
``"bic"``: log-likelihood minus log(n)/2 per parameter, the scale of ``adsgen.cbn.scores``) or ``bdeu``
(``"bde"`` with ``iss = 10``).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from adsgen.cbn.scores import ScoreName

RLearner = Literal["hc", "tabu", "hc_restart"]
R_LEARNERS: dict[str, str] = {
    "hc": "list()",
    "tabu": "list(tabu = 100, max.tabu = 100)",
    "hc_restart": "list(restart = 50, perturb = 3)",
}
"""Each learner's options beyond bnlearn's defaults, as R code (``tabu`` runs ``bnlearn::tabu``, the others
``bnlearn::hc``)."""
assert tuple(R_LEARNERS) == get_args(RLearner), "every RLearner has its R options, and no other"
R_TIMEOUT_S = 1800.0
"""Longest an Rscript run may take."""

_SCRIPT_TEMPLATE = r"""
t0 <- proc.time()[["elapsed"]]
suppressMessages(library(bnlearn))
args <- commandArgs(TRUE)
cat("#startup", proc.time()[["elapsed"]] - t0, "\n")
score <- if (args[2] == "bdeu") list(score = "bde", iss = 10) else list(score = "bic")
options <- list(%s)
t <- proc.time()[["elapsed"]]
d <- read.csv(args[1], colClasses = "factor", check.names = FALSE)
cat("#read", proc.time()[["elapsed"]] - t, "\n")
black <- if (args[3] == "-") list() else
  list(blacklist = as.matrix(read.csv(args[3], colClasses = "character", check.names = FALSE)))
for (alg in args[-(1:3)]) {
  t <- proc.time()[["elapsed"]]
  g <- do.call(if (alg == "tabu") bnlearn::tabu else bnlearn::hc, c(list(d), score, black, options[[alg]]))
  cat("#search", alg, proc.time()[["elapsed"]] - t, "\n")
  a <- arcs(g)
  for (i in seq_len(nrow(a))) cat("arc", alg, a[i, 1], a[i, 2], "\n", sep = "\t")
}
"""
_SCRIPT = _SCRIPT_TEMPLATE % ", ".join(f"{k} = {v}" for k, v in R_LEARNERS.items())


@dataclass(frozen=True)
class RResult:
    """One bnlearn learner's graph and times on one CSV."""

    edges: tuple[tuple[str, str], ...]
    read_s: float
    """Reading the CSV into a data frame of factors (shared by the learners of one run)."""
    search_s: float
    r_startup_s: float
    """Starting R's clock to bnlearn loaded (R's process start itself is not counted)."""


def bnlearn_version() -> str | None:
    """The installed bnlearn's version, or None when Rscript or bnlearn is missing."""
    if shutil.which("Rscript") is None:
        return None
    try:
        out = subprocess.run(["Rscript", "-e", 'cat(as.character(packageVersion("bnlearn")))'],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def availability_note() -> str:
    """One line for a benchmark's output: which bnlearn runs, or why none does."""
    if shutil.which("Rscript") is None:
        return "R is not installed: no bnlearn comparison (apt-get install r-base-core; bnlearn from source)"
    version = bnlearn_version()
    if version is None:
        return "R is installed but the bnlearn package is not: no bnlearn comparison"
    return f"R bnlearn {version} on the same CSV (hc; tabu with tabu = 100)"


def run_bnlearn(csv: str | Path, learners: Sequence[RLearner] = ("hc", "tabu"),
                score: ScoreName = "bic",
                forbidden: Iterable[tuple[str, str]] = ()) -> dict[str, RResult]:
    """Run bnlearn's ``learners`` on ``csv`` (header row, categorical columns) in one Rscript process;
    ``forbidden`` arcs go to bnlearn as its blacklist."""
    from adsgen.errors import ConfigError

    for name in learners:
        if name not in R_LEARNERS:
            raise ConfigError(f"unknown bnlearn learner '{name}' (known: {', '.join(R_LEARNERS)})")
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "learn.R"
        script.write_text(_SCRIPT, encoding="utf-8")
        black = "-"
        banned = sorted(forbidden)
        if banned:
            black = str(Path(tmp) / "blacklist.csv")
            Path(black).write_text("from,to\n" + "".join(f"{a},{b}\n" for a, b in banned), encoding="utf-8")
        try:
            out = subprocess.run(["Rscript", str(script), str(csv), score, black, *learners],
                                 capture_output=True, text=True, timeout=R_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise ConfigError(f"Rscript on {csv}: no answer in {R_TIMEOUT_S:.0f} s") from None
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["no message"])[-1]
        raise ConfigError(f"Rscript on {csv} failed (exit {out.returncode}): {last}")
    return _parse(out.stdout, learners)


def _parse(text: str, learners: Sequence[str]) -> dict[str, RResult]:
    startup = read = 0.0
    search: dict[str, float] = {}
    arcs: dict[str, list[tuple[str, str]]] = {name: [] for name in learners}
    for line in text.splitlines():
        parts = line.split()
        if line.startswith("#startup"):
            startup = float(parts[1])
        elif line.startswith("#read"):
            read = float(parts[1])
        elif line.startswith("#search"):
            search[parts[1]] = float(parts[2])
        elif line.startswith("arc\t"):
            fields = [f for f in line.split("\t") if f.strip()]
            arcs[fields[1]].append((fields[2], fields[3]))
    return {name: RResult(tuple(arcs[name]), read, search[name], startup) for name in learners}
