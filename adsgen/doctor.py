"""``adsgen doctor``: is this machine set up as the toolkit was tested? One row per check.

The tested set is the installed package's own requirements (pyproject.toml, read back through
``importlib.metadata``), so there is one source for the ranges. Each row is ok / warn / fail / skip with a
detail; only a missing core requirement is a failure (``adsgen doctor`` then exits 1). Optional parts
(the carla, vlm, ray and dev extras, Chromium for the report screenshots, a CARLA server) are warnings or
skips, because a machine without them still runs the core pipeline.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any, Literal

from packaging.requirements import InvalidRequirement, Requirement

from adsgen.paths import CRASH_DIR, SEEDS_DIR

Status = Literal["ok", "warn", "fail", "skip"]

MIN_FREE_DISK_GB = 5.0  # [GB] below this a campaign database or a model checkpoint may not fit
PACKAGE = "adsgen"


@dataclass
class DoctorRow:
    check: str
    status: Status
    detail: str


@dataclass
class DoctorReport:
    rows: list[DoctorRow] = field(default_factory=list)

    def add(self, check: str, status: Status, detail: str) -> None:
        self.rows.append(DoctorRow(check, status, detail))

    @property
    def ok(self) -> bool:
        return all(r.status != "fail" for r in self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "rows": [asdict(r) for r in self.rows]}


def _requirements() -> list[tuple[Requirement, str | None]]:
    """(requirement, extra or None) for each requirement the installed package declares."""
    out: list[tuple[Requirement, str | None]] = []
    for text in metadata.requires(PACKAGE) or []:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue
        extra = None
        if req.marker is not None:
            marker = str(req.marker)
            if "extra" in marker:
                extra = marker.split("==")[-1].strip().strip("'\"")
        out.append((req, extra))
    return out


def check_packages(rep: DoctorReport) -> None:
    """Every declared requirement: installed, and in its tested range."""
    for req, extra in _requirements():
        where = f" (extra '{extra}')" if extra else ""
        missing: Status = "warn" if extra else "fail"
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            hint = f"pip install 'adsgen[{extra}]'" if extra else "reinstall adsgen"
            rep.add(req.name, missing, f"not installed{where}; {hint}")
            continue
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            rep.add(req.name, "warn", f"{version} is outside the tested range {req.specifier}{where}")
        else:
            rep.add(req.name, "ok", f"{version}{where}")


def check_torch(rep: DoctorReport) -> None:
    """Which torch build: CPU or CUDA, and whether a GPU is visible."""
    try:
        metadata.version("torch")
    except metadata.PackageNotFoundError:
        rep.add("torch build", "skip", "torch is not installed (the vlm extra)")
        return
    import torch  # heavy: only here

    cuda = torch.version.cuda
    if cuda is None:
        rep.add("torch build", "ok", f"{torch.__version__}, CPU build ({torch.get_num_threads()} threads)")
    elif torch.cuda.is_available():
        rep.add("torch build", "ok", f"{torch.__version__}, CUDA {cuda}, GPU: {torch.cuda.get_device_name(0)}")
    else:
        rep.add("torch build", "warn", f"{torch.__version__}, CUDA {cuda} build but no GPU is visible")


def check_carla(rep: DoctorReport, host: str | None, port: int) -> None:
    """The CARLA client; with a host, the server's reachability and version (no scenario is run)."""
    try:
        client_version = metadata.version("carla")
    except metadata.PackageNotFoundError:
        rep.add("carla client", "warn", "not installed; pip install 'adsgen[carla]'")
        return
    rep.add("carla client", "ok", client_version)
    if host is None:
        rep.add("carla server", "skip", "no --carla-host given")
        return
    from carla_bridge.check import run_check

    server = run_check(host, port, run=False)
    for row in server.rows:
        status: Status = row.status if row.status in ("ok", "warn", "fail", "skip") else "warn"  # type: ignore[assignment]
        rep.add(f"carla server: {row.name}", status, row.detail)


def check_chromium(rep: DoctorReport) -> None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            rep.add("chromium", "ok", path)
            return
    rep.add("chromium", "warn", "not found: report screenshot checks are skipped (Debian: apt install chromium)")


def check_machine(rep: DoctorReport, folder: str) -> None:
    rep.add("python", "ok" if (3, 10) <= sys.version_info[:2] <= (3, 12) else "warn",
            f"{platform.python_version()} ({sys.executable}); tested on 3.10-3.12")
    cores = os.cpu_count() or 1
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    rep.add("cores", "ok", f"{usable} usable of {cores}")
    free_gb = shutil.disk_usage(folder).free / 1e9
    rep.add("free disk", "ok" if free_gb >= MIN_FREE_DISK_GB else "warn",
            f"{free_gb:.1f} GB free in {os.path.abspath(folder)}")


def check_shipped_data(rep: DoctorReport) -> None:
    """The seeds and crash table the package ships (adsgen.paths), with the folder a user passes to commands."""
    seeds = sorted(SEEDS_DIR.glob("*.yaml"))
    rep.add("shipped seeds", "ok" if seeds else "fail", f"{len(seeds)} in {SEEDS_DIR}")
    crash = sorted(CRASH_DIR.glob("*.csv.gz"))
    rep.add("shipped crash table", "ok" if crash else "fail",
            ", ".join(str(p) for p in crash) or f"none in {CRASH_DIR}")


def run_doctor(*, carla_host: str | None = None, carla_port: int = 2000, folder: str = ".") -> DoctorReport:
    """All checks; never raises for a missing optional part (it becomes a row)."""
    rep = DoctorReport()
    try:
        rep.add(PACKAGE, "ok", metadata.version(PACKAGE))
    except metadata.PackageNotFoundError:
        rep.add(PACKAGE, "warn", "running from a source tree that is not installed (pip install -e .)")
    check_machine(rep, folder)
    check_shipped_data(rep)
    check_packages(rep)
    check_torch(rep)
    check_carla(rep, carla_host, carla_port)
    check_chromium(rep)
    return rep
