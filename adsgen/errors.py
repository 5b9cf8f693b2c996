"""User-facing errors.

Anything a user can cause (a bad file, a bad option, an unreachable server) raises a subclass of
``AdsgenError`` with a one-line message that names the file / row / field and what was expected.
The command line prints that line and exits with code 2; it never shows a traceback for these.
"""

from __future__ import annotations

from typing import TypeVar

_Choice = TypeVar("_Choice", bound=str)


class AdsgenError(Exception):
    """Base class of errors caused by the user's input or environment (exit code 2)."""

    exit_code = 2


class InputError(AdsgenError):
    """A file or value given by the user is missing, malformed or of the wrong kind."""


class ConfigError(AdsgenError):
    """An option or configuration value is invalid."""


class MissingExtraError(AdsgenError):
    """An optional dependency (an extra such as ``adsgen[carla]``) is not installed."""

    def __init__(self, extra: str, package: str, what: str):
        super().__init__(
            f"{what} needs the '{package}' package, which is not installed: pip install 'adsgen[{extra}]'"
        )
        self.extra = extra


class BackendError(AdsgenError):
    """A simulator backend failed (server unreachable or lost). Campaigns may retry these."""


def one_of(value: str, choices: tuple[_Choice, ...], what: str) -> _Choice:
    """``value`` as one of ``choices`` (a Literal's values); ConfigError naming ``what`` and the choices."""
    if value not in choices:
        raise ConfigError(f"{what} must be one of {', '.join(choices)}, got '{value}'")
    return value
