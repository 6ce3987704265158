"""registry/signing.py in-process, with real git config and a real ssh-keygen key: the
releaser's key is read as git reads it, a signature verifies with `ssh-keygen -Y verify`
against the allowed signers and fails for other bytes, and an unusable key is refused."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sdops_dvc.base.errors import ReleaseRefused
from sdops_dvc.registry.signing import Signer, release_signer, sign


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _key(tmp: Path) -> Path:
    key = tmp / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


def test_the_signer_is_the_key_git_is_configured_with(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "gpg.format", "ssh")
    _git(repo, "config", "user.signingkey", str(tmp_path / "missing"))
    assert release_signer(str(repo)) is None  # no key file there
    _git(repo, "config", "user.signingkey", "key::ssh-ed25519 AAAA")
    assert release_signer(str(repo)) is None  # a literal key needs an agent: refused
    key = _key(tmp_path)
    _git(repo, "config", "user.signingkey", str(key))
    assert release_signer(str(repo)) == Signer("ssh", str(key))
    _git(repo, "config", "gpg.format", "openpgp")
    _git(repo, "config", "user.signingkey", "ABCDEF")
    assert release_signer(str(repo)) == Signer("openpgp", "ABCDEF")


def test_a_signature_verifies_for_its_payload_only(tmp_path: Path) -> None:
    key = _key(tmp_path)
    signature = sign(Signer("ssh", str(key)), "object abc\ntag t@v1.0.0\n")
    assert signature.startswith("-----BEGIN SSH SIGNATURE-----")
    signers = tmp_path / "allowed_signers"
    signers.write_text(f"dev@example.com {(tmp_path / 'id_ed25519.pub').read_text()}")
    sig = tmp_path / "payload.sig"
    sig.write_text(signature)

    def verify(payload: str) -> int:
        return subprocess.run(
            ["ssh-keygen", "-Y", "verify", "-f", str(signers), "-I", "dev@example.com",
             "-n", "git", "-s", str(sig)],
            input=payload.encode(), capture_output=True, check=False,
        ).returncode  # fmt: skip

    assert verify("object abc\ntag t@v1.0.0\n") == 0
    assert verify("object abc\ntag t@v2.0.0\n") != 0


def test_an_unusable_key_is_refused_with_the_fix(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-key"
    bad.write_text("nonsense")
    with pytest.raises(ReleaseRefused) as err:
        sign(Signer("ssh", str(bad)), "payload")
    assert "could not be signed" in err.value.message and "user.signingkey" in (
        err.value.hint or ""
    )
