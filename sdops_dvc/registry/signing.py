"""Signed release tags (issue 25): ``sdops release`` signs the tag object with the releaser's
git signing key, as ``git tag -s`` would, without creating a ref before origin accepts it.

The key is git's own setting (``user.signingkey``, ``gpg.format`` ssh or openpgp), so a team
signs releases the way it signs commits. Readers verify the signature against the allowed
signers committed at the tagged commit (:mod:`sdops_dvc.registry.catalog`).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sdops_dvc.base.errors import ReleaseRefused
from sdops_dvc.base.scm import git as _git

NO_KEY_HINT = (
    "set a signing key whose public half is in the allowed signers (`git config "
    "user.signingkey ~/.ssh/id_ed25519` and `git config gpg.format ssh`), or declare "
    "`release.sign_tags: false` in params.yaml (recorded; readers list such releases as "
    "unverified and never serve them as current)"
)


@dataclass(frozen=True)
class Signer:
    fmt: str  # "ssh" or "openpgp"
    key: str  # an SSH private key file, or an OpenPGP key id ("" for gpg's default key)


def _config(cwd: str, key: str) -> str | None:
    proc = _git(cwd, "config", "--get", key)
    return (proc.stdout.strip() or None) if proc.returncode == 0 else None


def release_signer(cwd: str) -> Signer | None:
    """The releaser's signing key as git is configured; None when there is none."""
    fmt = (_config(cwd, "gpg.format") or "openpgp").lower()
    key = _config(cwd, "user.signingkey")
    if fmt == "ssh":
        if not key or key.startswith("key::"):
            return None  # a literal key needs an agent: ask for a key file (NO_KEY_HINT)
        path = Path(os.path.expanduser(key))
        return Signer("ssh", str(path)) if path.is_file() else None
    if fmt == "openpgp":
        return Signer("openpgp", key or "") if key else None
    return None


def sign(signer: Signer, payload: str) -> str:
    """An armored signature of ``payload`` (what git appends to a signed tag object)."""
    if signer.fmt == "ssh":
        with tempfile.TemporaryDirectory(prefix="sdops-sign-") as tmp:
            data = Path(tmp) / "payload"
            data.write_text(payload, encoding="utf-8")
            proc = subprocess.run(
                ["ssh-keygen", "-Y", "sign", "-n", "git", "-f", signer.key, str(data)],
                capture_output=True,
                text=True,
                check=False,
            )
            sig = data.with_name("payload.sig")
            if proc.returncode != 0 or not sig.is_file():
                raise ReleaseRefused(
                    f"the release tag could not be signed with {signer.key}: "
                    f"{proc.stderr.strip() or 'ssh-keygen failed'}",
                    hint=NO_KEY_HINT,
                )
            return sig.read_text(encoding="utf-8")
    proc = subprocess.run(
        ["gpg", "--batch", "--armor", "--detach-sign", "--local-user", signer.key],
        input=payload,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise ReleaseRefused(
            f"the release tag could not be signed with OpenPGP key {signer.key}: "
            f"{proc.stderr.strip()}",
            hint=NO_KEY_HINT,
        )
    return proc.stdout
