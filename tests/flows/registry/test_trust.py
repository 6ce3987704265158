"""Trust the releaser cannot rewrite (issue 25): each reproduction of the issue on a real
release repository (bare origin, release and private DVC remotes, real SSH signatures), ending
refused with a reason that names the cause. The suite's own identity signs every commit it
makes (tests/conftest.py), as a team enforcing four eyes with the git provider does."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Approver, approve_release, dvc, git, sdops, set_params, tag_record


def _released(work: Path) -> str:
    """A first release (credit@v1.0.0), whose rules judge the next; returns HEAD after it."""
    approve_release(work)
    sdops("release", cwd=work, check=True)
    return git("rev-parse", "HEAD", cwd=work).stdout.strip()


def _commit_all(work: Path, message: str) -> None:
    git("add", "-A", cwd=work)
    git("commit", "-qm", message, cwd=work)


def _refused(work: Path, *causes: str) -> str:
    proc = sdops("release", "--no-regenerate", cwd=work)
    assert proc.returncode == 9, proc.stdout + proc.stderr
    for cause in causes:
        assert cause in proc.stderr, proc.stderr
    assert "credit@v1.1.0" not in git("tag", "--list", cwd=work).stdout
    return proc.stderr


def test_four_eyes_reads_who_made_a_change_from_its_signature(
    world: dict[str, Path], ana: Approver
) -> None:
    """Reproduction 2: a change committed under someone else's address, approved by the
    person who made it."""
    work = world["work"]
    base = _released(work)
    (work / "NOTES.md").write_text("usage notes\n")
    git("add", "-A", cwd=work)
    # Ana signs her change with her key but writes another author into it
    git(
        "-c", "gpg.format=ssh", "-c", f"user.signingkey={ana.key}",
        "-c", "user.name=Someone Else", "-c", "user.email=someone-else@example.com",
        "commit", "-q", "-S", "-m", "Usage notes", cwd=work,
    )  # fmt: skip
    ana.approve(work)
    _refused(work, "self-approval, they authored, committed or signed")
    # unsigned, the change cannot be attributed: refused, saying how to fix it
    git("reset", "-q", "--hard", base, cwd=work)
    (work / "NOTES.md").write_text("usage notes\n")
    git("add", "-A", cwd=work)
    git(
        "-c", "user.email=someone-else@example.com", "commit", "-q", "--no-gpg-sign",
        "-m", "Usage notes", cwd=work,
    )  # fmt: skip
    ana.approve(work)
    _refused(work, "change commit(s) are not signed by a key in .sdops/allowed_signers")


def test_a_new_signers_file_cannot_approve_itself(
    world: dict[str, Path], ana: Approver, tmp_path: Path
) -> None:
    """Reproduction 3: the candidate points the policy at a new signers file mapping the
    approver's address to the releaser's key."""
    work = world["work"]
    _released(work)
    mallory = Approver(tmp_path, "Mallory", "mallory@example.com")
    current = (work / ".sdops/allowed_signers").read_text()
    forged = mallory.signer_line.replace("mallory@example.com", "ana@example.com", 1)
    (work / ".sdops/new_signers").write_text(current + forged)
    set_params(work, {"release.approvals.allowed_signers": ".sdops/new_signers"})
    _commit_all(work, "Signers file")
    mallory.commit(
        work, "--allow-empty", "-m", "Approve\n\nApproved-by: Ana Privacy <ana@example.com>"
    )
    err = _refused(
        work,
        "Ana Privacy <ana@example.com> in",
        "unverified",
        "governance: release.approvals.allowed_signers: '.sdops/allowed_signers' -> "
        "'.sdops/new_signers' changed since credit@v1.0.0",
    )
    assert "signatures verified against .sdops/allowed_signers" not in err  # a note, not a reason


def test_the_policy_is_the_last_releases(world: dict[str, Path], tmp_path: Path) -> None:
    """Reproduction 4: the candidate rewrites the approvals policy it is judged by."""
    work = world["work"]
    base = _released(work)
    mallory = Approver(tmp_path, "Mallory", "mallory@example.com")
    # unsigned trailers declared good enough, in the candidate itself
    set_params(work, {"release.approvals.allow_unverified": True})
    _commit_all(work, "Allow unverified")
    git("commit", "-q", "--no-gpg-sign", "--allow-empty", "-m",
        "Approve\n\nApproved-by: Ana Privacy <ana@example.com>", cwd=work)  # fmt: skip
    _refused(
        work,
        "unverified (the commit is not signed by a key of theirs",
        "governance: release.approvals.allow_unverified: False -> True changed since credit@v1.0.0",
        "needs a verified (signed) approval from the 'privacy' role",
    )
    # the privacy role handed to oneself
    git("reset", "-q", "--hard", base, cwd=work)
    set_params(work, {"release.approvals.roles": {"privacy": ["mallory@example.com"]}})
    _commit_all(work, "Roles")
    mallory.approve(work)
    _refused(work, "no counted approval from the 'privacy' role (ana@example.com)")
    # approvals switched off
    git("reset", "-q", "--hard", base, cwd=work)
    set_params(work, {"release.approvals.roles": {}, "release.approvals.required": False})
    _commit_all(work, "No approvals")
    _refused(work, "governance: release.approvals.required: True -> False")


def test_loosenings_are_named_against_the_last_release(
    world: dict[str, Path], ana: Approver
) -> None:
    """Reproduction 5: a threshold loosened in one commit, the seed changed in the next."""
    work = world["work"]
    _released(work)
    set_params(work, {"gates.quality.min_utility_ratio": 0.3})
    dvc("repro", cwd=work)
    _commit_all(work, "Utility threshold")
    set_params(work, {"generator.seed": 8})
    dvc("repro", cwd=work)
    _commit_all(work, "Seed 8")
    gate = json.loads((work / "reports/gate.json").read_text())
    assert any(
        "against release credit@v1.0.0" in n and "min_utility_ratio: 0.5 -> 0.3 (LOOSENED)" in n
        for n in gate["review_notes"]
    ), gate["review_notes"]
    # without Ana's approval the loosening cannot go out
    _refused(work, "governance: gates.quality.min_utility_ratio: 0.5 -> 0.3 (LOOSENED)")
    ana.approve(work)
    proc = sdops("release", cwd=work, check=True)
    assert "LOOSENED gates.quality.min_utility_ratio: 0.5 -> 0.3" in proc.stdout
    changes = tag_record(work, "credit@v1.1.0")["governance"]["changes"]
    loose = [c for c in changes if c["change"] == "loosened"]
    assert [c["key"] for c in loose] == ["gates.quality.min_utility_ratio"]
    assert loose[0]["approved_by"] == ["Ana Privacy <ana@example.com> (privacy)"]


def test_a_hand_made_tag_is_not_a_release(world: dict[str, Path]) -> None:
    """Reproduction 7: a release record copied onto an annotated tag at an unreleased commit
    the gate blocked, signed or not: not a release, never current."""
    work = world["work"]
    _released(work)
    record = tag_record(work, "credit@v1.0.0")
    set_params(work, {"gates.quality.min_column_shapes": 0.999})
    dvc("repro", cwd=work, check=False)
    _commit_all(work, "Blocked candidate")
    blocked = json.loads((work / "release/manifest.json").read_text())
    assert blocked["gates"]["approved"] is False
    head = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    for tag, signed in (("credit@v1.1.0", True), ("credit@v1.2.0", False)):
        forged = {**record, "version": record["version"].replace("1.0.0", tag.split("@v")[1]), "commit": head,
                  "manifest_digest": blocked["digest"]["value"]}  # fmt: skip
        body = f"Release {tag}\n\n{json.dumps(forged, indent=2, sort_keys=True)}\n"
        git("tag", "-a", "-s" if signed else "--no-sign", "-m", body, tag, cwd=work)
    listed = sdops("list", cwd=work, check=True).stdout
    assert (
        "credit@v1.1.0" in listed
        and "NOT A RELEASE: the manifest at its commit records a blocked gate" in listed
    )
    assert "credit@v1.0.0" in listed.split("credit@v1.1.0")[0] and "current" in listed
    shown = json.loads(sdops("show", "credit@current", "--json", cwd=work, check=True).stdout)
    assert shown["release"]["tag"] == "credit@v1.0.0"
    # an unsigned copy at the released commit itself is refused too
    git("tag", "-a", "--no-sign", "-m", f"Release credit@v1.3.0\n\n{json.dumps({**record, 'version': record['version'].replace('1.0.0', '1.3.0')})}\n",
        "credit@v1.3.0", base := record["commit"], cwd=work)  # fmt: skip
    del base
    rows = {r["tag"]: r for r in json.loads(sdops("list", "--json", cwd=work, check=True).stdout)}
    assert rows["credit@v1.3.0"]["status"] == "not a release"


def test_unsigned_release_tags_are_a_declared_choice(world: dict[str, Path]) -> None:
    """`release.sign_tags: false`: released, recorded, listed as unverified, never current."""
    work = world["work"]
    set_params(work, {"release.sign_tags": False})
    _commit_all(work, "Unsigned release tags")
    approve_release(work)
    proc = sdops("release", "--no-regenerate", cwd=work, check=True)
    assert "release tag NOT SIGNED" in proc.stderr
    [row] = json.loads(sdops("list", "--json", cwd=work, check=True).stdout)
    assert row["verified"] is False and row["status"] != "current"
    assert "UNVERIFIED" in sdops("list", cwd=work, check=True).stdout
    proc = sdops("show", "credit@current", cwd=work)
    assert proc.returncode != 0 and "no release of 'credit' verifies" in proc.stderr
    # a signing key git cannot find is refused before anything is tagged
    set_params(work, {"release.sign_tags": True})
    _commit_all(work, "Signed release tags")
    approve_release(work)
    git("config", "user.signingkey", str(work / "no-such-key"), cwd=work)
    proc = sdops("release", "--no-regenerate", cwd=work)
    assert proc.returncode == 9 and "no key to sign the release tag with" in proc.stderr


def test_a_deleted_ledger_or_a_moved_source_refunds_nothing(
    world: dict[str, Path], tmp_path: Path
) -> None:
    """Reproduction 6: the budget ledger deleted on origin (seen from this clone and from a
    fresh one), and the source moved to another path (same content): the tags anchor the
    ledger, and the budget follows the source's content digests."""
    work, origin = world["work"], world["origin"]
    _released(work)
    budget = tag_record(work, "credit@v1.0.0")["budget"]
    ref, tip = budget["ledger_ref"], budget["ledger_tip"]
    assert git("rev-parse", ref, cwd=work).stdout.strip() == tip
    git("push", "-q", "origin", f":{ref}", cwd=work)
    fresh = tmp_path / "fresh"
    git("clone", "-q", str(origin), str(fresh), cwd=tmp_path)
    dvc("pull", "-q", cwd=fresh)
    for clone in (work, fresh):
        (clone / "NOTES.md").write_text(f"notes in {clone.name}\n")
        _commit_all(clone, "Usage notes")
        approve_release(clone)
        _refused(clone, f"the budget ledger {ref} is missing, but credit@v1.0.0 recorded spends")
    git("push", "-q", "origin", f"{tip}:{ref}", cwd=work)  # the fix the refusal names
    sdops("release", "--no-regenerate", cwd=work, check=True)

    # the source moved, same bytes: its spends still count against this budget
    before = json.loads(sdops("budget", "--json", "--offline", cwd=work, check=True).stdout)
    git("mv", "data/source/credit.csv.dvc", "credit.csv.dvc", cwd=work)
    (work / "data/source/credit.csv").rename(work / "credit.csv")
    set_params(work, {"source.path": "credit.csv"})
    after = json.loads(sdops("budget", "--json", "--offline", cwd=work, check=True).stdout)
    assert before["scope"] != after["scope"]  # the path-based fingerprint moved...
    tags_before = {e["tag"] for e in before["entries"]}
    assert tags_before == {"credit@v1.0.0", "credit@v1.1.0"}
    assert {e["tag"] for e in after["entries"]} == tags_before  # ...the spends did not
