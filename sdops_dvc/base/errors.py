"""One error hierarchy; each class maps to one documented exit code.

Exit codes (also in README.md):

====  ==========================  ===============================================
code  class                       meaning
====  ==========================  ===============================================
0     -                           success (gate approved)
1     GateFailed, NotReproduced   a gate failed / ``verify`` found differing bytes
2     (click usage error)         wrong command-line usage
3     ConfigError                 params.yaml / metadata.json is malformed
4     DataError                   missing/empty/unreadable table or missing column
5     SnapshotMismatch            source content differs from its pin in params
6     RepoError                   git or DVC state or command problem
7     WouldOverwrite              a file exists and --force was not given
8     ManifestInvalid             a manifest fails its schema or digest
9     ReleaseRefused              ``sdops release`` refused; every reason is listed
10    ReleaseUnavailable          the release is revoked, retired or does not exist
11    BudgetExceeded              a DP measurement would exceed the privacy-budget cap
12    IntegrityError              bytes served or stored differ from the release's hashes
13    RuntimeUnavailable          a generator's isolated runtime cannot be installed or run
70    (unexpected)                a bug: rerun with SDOPS_DEBUG=1 and report it
====  ==========================  ===============================================
"""

from __future__ import annotations


class SdopsError(Exception):
    """Base class: a message a user can act on, and an exit code."""

    exit_code = 70

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  fix: {self.hint}"
        return self.message


class GateFailed(SdopsError):
    exit_code = 1


class NotReproduced(SdopsError):
    exit_code = 1


class ConfigError(SdopsError):
    exit_code = 3


class DataError(SdopsError):
    exit_code = 4


class SnapshotMismatch(SdopsError):
    exit_code = 5


class RepoError(SdopsError):
    exit_code = 6


class WouldOverwrite(SdopsError):
    exit_code = 7


class ManifestInvalid(SdopsError):
    exit_code = 8


class ReleaseRefused(SdopsError):
    exit_code = 9


class ReleaseUnavailable(SdopsError):
    exit_code = 10


class BudgetExceeded(SdopsError):
    exit_code = 11


class IntegrityError(SdopsError):
    exit_code = 12


class RuntimeUnavailable(SdopsError):
    exit_code = 13


EXIT_CODES: dict[str, int] = {
    "ok": 0,
    "gate_failed": GateFailed.exit_code,
    "usage": 2,
    "config": ConfigError.exit_code,
    "data": DataError.exit_code,
    "snapshot_mismatch": SnapshotMismatch.exit_code,
    "repo": RepoError.exit_code,
    "would_overwrite": WouldOverwrite.exit_code,
    "manifest_invalid": ManifestInvalid.exit_code,
    "release_refused": ReleaseRefused.exit_code,
    "release_unavailable": ReleaseUnavailable.exit_code,
    "budget_exceeded": BudgetExceeded.exit_code,
    "integrity": IntegrityError.exit_code,
    "runtime_unavailable": RuntimeUnavailable.exit_code,
    "internal": SdopsError.exit_code,
}
