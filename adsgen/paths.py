"""Where the shipped inputs live (the repository's data/ folder)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"
SEEDS_DIR = DATA_DIR / "seeds"
CRASH_DIR = DATA_DIR / "crash"
DRIVELM_DIR = DATA_DIR / "drivelm"
