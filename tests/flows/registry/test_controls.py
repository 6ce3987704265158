"""Controls that hold against one determined person (issue 11): each reproduction of the
issue, on a real release repository with a bare git origin, a release DVC remote and a
private DVC remote for the real data."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.conftest import (
    TRAILER,
    Approver,
    approve_release,
    dvc,
    git,
    remote_tags,
    sdops,
    sdops_in,
    set_params,
    tag_record,
    tags,
    trust,
)


def _block_the_gate(work: Path) -> None:
    """A stricter threshold the synthetic data cannot meet: `dvc repro` stops at the gate."""
    set_params(work, {"gates.quality.min_column_shapes": 0.999})
    dvc("repro", cwd=work, check=False)


def _object(cache: Path, md5: str) -> Path:
    return cache / "files" / "md5" / md5[:2] / md5[2:]


def _tamper(path: Path, extra: bytes) -> None:
    path.chmod(path.stat().st_mode | stat.S_IWUSR)
    with path.open("ab") as fh:
        fh.write(extra)


def test_a_hand_edited_gate_json_does_not_release(world: dict[str, Path]) -> None:
    work, origin = world["work"], world["origin"]
    _block_the_gate(work)
    gate = json.loads((work / "reports/gate.json").read_text())
    assert gate["approved"] is False
    gate["approved"], gate["failures"] = True, []
    for g in gate["gates"].values():
        g["passed"], g["failures"] = True, []
    (work / "reports/gate.json").write_text(json.dumps(gate))
    dvc("commit", "-f", "-q", "gate", cwd=work)
    dvc("repro", cwd=work)  # the manifest now records the edited decision
    git("add", "-A", cwd=work)
    git("commit", "-qm", "Looks approved", cwd=work)
    approve_release(work)
    proc = sdops("release", cwd=work)
    assert proc.returncode == 9, proc.stdout
    assert "recomputed from reports/metrics.json and params.yaml at HEAD is blocked" in proc.stderr
    assert "failure missing from reports/gate.json: quality: column shapes" in proc.stderr
    assert tags(work) == [] and remote_tags(origin) == []


def test_edited_metrics_are_caught_by_reevaluation(world: dict[str, Path]) -> None:
    work = world["work"]
    _block_the_gate(work)
    metrics = json.loads((work / "reports/metrics.json").read_text())
    metrics["quality"]["column_shapes"] = 0.9999
    (work / "reports/metrics.json").write_text(json.dumps(metrics, indent=2))
    dvc("commit", "-f", "-q", "evaluate", cwd=work)
    dvc("repro", cwd=work)  # gate and manifest re-run on the edited metrics and approve
    assert json.loads((work / "reports/gate.json").read_text())["approved"] is True
    git("add", "-A", cwd=work)
    git("commit", "-qm", "Edited metrics", cwd=work)
    approve_release(work)
    proc = sdops("release", "--reevaluate", cwd=work)
    assert proc.returncode == 9, proc.stdout
    assert "regeneration: reports/metrics.json regenerated from the pinned source" in proc.stderr
    assert tags(work) == []
    # released without --reevaluate, `sdops verify` finds the bytes the pipeline does not make
    sdops("release", cwd=work, check=True)
    proc = sdops("verify", "credit@v1.0.0", "--json", cwd=work)
    assert proc.returncode == 1, proc.stderr
    error = json.loads(proc.stdout)["error"]
    assert error["type"] == "NotReproduced" and error["exit_code"] == 1
    assert "credit@v1.0.0 is NOT reproduced" in error["message"]
    assert "  - reports/metrics.json: md5 " in error["message"]


def test_real_rows_released_as_synthetic_are_refused(world: dict[str, Path]) -> None:
    """Issue 25, reproduction 1: the synthetic table replaced by holdout rows, `dvc commit -f
    generate`, the rest of the pipeline run honestly. The privacy gate blocks real rows passed
    off as synthetic; with that gate's verdict forged away too, the release's regeneration
    finds the bytes the pinned inputs do not make."""
    import pandas as pd

    work, origin = world["work"], world["origin"]
    holdout = pd.read_parquet(work / "data/split/holdout.parquet")
    train_rows = len(pd.read_parquet(work / "data/split/train.parquet"))
    rows = pd.concat([holdout] * (train_rows // len(holdout) + 1), ignore_index=True)
    rows.head(train_rows).to_csv(work / "data/synthetic/synthetic.csv", index=False)
    dvc("commit", "-f", "-q", "generate", cwd=work)
    dvc("repro", cwd=work, check=False)
    gate = json.loads((work / "reports/gate.json").read_text())
    assert gate["approved"] is False
    assert any("real rows passed off as synthetic" in f for f in gate["failures"]), gate
    # the honest gate blocks it; a releaser who also loosens the thresholds gets past it
    set_params(
        work,
        {"gates.privacy.max_real_match_excess": 1.0, "gates.quality.max_detection_auc": 1.0},
    )
    dvc("repro", cwd=work)
    gate = json.loads((work / "reports/gate.json").read_text())
    assert gate["approved"] is True, gate["failures"]
    git("add", "-A", cwd=work)
    git("commit", "-qm", "Synthetic table", cwd=work)
    approve_release(work)
    proc = sdops("release", cwd=work)
    assert proc.returncode == 9, proc.stdout
    assert "regeneration: data/synthetic/synthetic.csv regenerated from the pinned" in proc.stderr
    assert tags(work) == [] and remote_tags(origin) == []
    # skipping the proof is possible, and says so in the tag and in every listing
    sdops("release", "--no-regenerate", cwd=work, check=True)
    listed = sdops("list", cwd=work, check=True).stdout
    assert "UNPROVEN" in listed
    record = json.loads(sdops("list", "--json", cwd=work, check=True).stdout)[0]
    assert record["gate"]["regenerated"] is False


def test_metrics_not_from_the_lock_are_refused(world: dict[str, Path]) -> None:
    """Edited metrics committed without `dvc commit`: dvc.lock records other bytes."""
    work = world["work"]
    metrics = json.loads((work / "reports/metrics.json").read_text())
    metrics["quality"]["detection_auc"] = 0.5
    (work / "reports/metrics.json").write_text(json.dumps(metrics, indent=2))
    git("commit", "-qam", "Nicer number", cwd=work)
    approve_release(work)
    proc = sdops("release", cwd=work)
    assert proc.returncode == 9
    assert "is not the evaluate stage's output in dvc.lock" in proc.stderr


def test_approvals_prove_who_approved_and_what(world: dict[str, Path], tmp_path: Path) -> None:
    work, origin = world["work"], world["origin"]
    ana = Approver(tmp_path, "Ana Privacy", "ana@example.com")
    mallory = Approver(tmp_path, "Mallory", "mallory@example.com")

    # a trailer naming Ana, signed with a key that is not Ana's
    mallory.commit(work, "--allow-empty", "-m", f"Approve\n\n{TRAILER}")
    proc = sdops("release", cwd=work)
    assert proc.returncode == 9
    assert "unverified (the commit is signed by" not in proc.stderr  # mallory is not trusted
    assert "Ana Privacy <ana@example.com> in" in proc.stderr and "unverified" in proc.stderr

    # Ana approves, then the content changes: a loosened threshold rides along with a seed
    ana.approve(work)
    set_params(work, {"gates.privacy.max_dcr_share": 0.70, "generator.seed": 99})
    dvc("repro", cwd=work, check=False)  # whatever the gate says, the approval is void
    git("add", "-A", cwd=work)
    git("commit", "-qm", "Another seed", cwd=work)
    proc = sdops("release", cwd=work)
    assert proc.returncode == 9
    assert "void, the content changed after it" in proc.stderr and "params.yaml" in proc.stderr

    # someone else's change, approved by Ana's signed commit: released; the repository's
    # first release has nothing earlier to vouch for the signers file: trust on first use
    git("checkout", "-q", "HEAD~1", "--", ".", cwd=work)  # back to the approved pipeline state
    dvc("checkout", "-q", "--force", cwd=work)
    (work / "NOTES.md").write_text("how to use this release\n")
    git("add", "-A", cwd=work)
    git("commit", "-qm", "Back to seed 7; usage notes", cwd=work)
    ana.approve(work)
    proc = sdops("release", cwd=work, check=True)
    assert "(privacy, ssh-signature (trust on first use), not verified)" in proc.stdout
    record = tag_record(work, "credit@v1.0.0")
    assert record["approvals"][0]["verified"] is False and record["approvals_required"] is True
    assert record["governance"] == {"basis": None, "first_use": True, "changes": []}
    assert "credit@v1.0.0" in remote_tags(origin)

    # the next release is verified against the signers file of credit@v1.0.0
    (work / "NOTES.md").write_text("how to use this release, v2\n")
    git("add", "-A", cwd=work)
    git("commit", "-qm", "Usage notes", cwd=work)
    ana.approve(work)
    proc = sdops("release", "--bump", "patch", cwd=work, check=True)
    assert "(privacy, ssh-signature, verified)" in proc.stdout
    record = tag_record(work, "credit@v1.0.1")
    assert record["approvals"][0]["verified"] is True
    assert record["governance"]["basis"] == "credit@v1.0.0"

    # Ana cannot approve a release holding her own change (four eyes)
    (work / "NOTES.md").write_text("how to use this release, by Ana\n")
    git("add", "-A", cwd=work)
    ana.commit(work, "-m", "Ana's own change")
    ana.approve(work)
    proc = sdops("release", cwd=work)
    assert proc.returncode == 9 and "self-approval, they authored" in proc.stderr

    # a change that adds Mallory to the role and her key to the allowed signers cannot be
    # approved by Mallory: the roles and signers of credit@v1.0.1 judge it
    set_params(
        work, {"release.approvals.roles": {"privacy": ["ana@example.com", "mallory@example.com"]}}
    )
    trust(work, ana, mallory)
    git("add", "-A", cwd=work)
    git("commit", "-qm", "Trust Mallory; evaluation seed 5", cwd=work)
    mallory.approve(work)
    proc = sdops("release", cwd=work)
    assert proc.returncode == 9, proc.stdout
    assert "no counted approval from the 'privacy' role (ana@example.com)" in proc.stderr
    assert "governance: release.approvals.roles" in proc.stderr


def test_approvals_are_required_unless_declared_otherwise(world: dict[str, Path]) -> None:
    work = world["work"]
    set_params(work, {"release.approvals.roles": {}})
    git("commit", "-qam", "No roles", cwd=work)
    proc = sdops("release", cwd=work)
    assert proc.returncode == 9 and "no approval roles are configured" in proc.stderr
    set_params(work, {"release.approvals.required": False})
    git("commit", "-qam", "Declared: no approvals", cwd=work)
    proc = sdops("release", cwd=work, check=True)
    assert "released WITHOUT APPROVALS" in proc.stderr
    shown = json.loads(sdops("show", "credit@latest", "--json", cwd=work, check=True).stdout)
    assert shown["release"]["approvals"] == []


def test_no_origin_and_no_remote_are_said_loudly(world: dict[str, Path]) -> None:
    work = world["work"]
    git("remote", "remove", "origin", cwd=work)
    dvc("remote", "remove", "store", cwd=work)
    git("commit", "-qam", "Local only", cwd=work)
    approve_release(work)
    proc = sdops("release", cwd=work, check=True)
    assert "NO ORIGIN" in proc.stderr and "NO DVC REMOTE" in proc.stderr


def test_real_data_never_reaches_the_release_remote(world: dict[str, Path], tmp_path: Path) -> None:
    work, store, private = world["work"], world["store"], world["private"]
    # pointing the split at the release remote is refused
    dvc_yaml = work / "dvc.yaml"
    original = dvc_yaml.read_text()
    dvc_yaml.write_text(original.replace("remote: private", "remote: store"))
    git("commit", "-qam", "Split to the release remote", cwd=work)
    approve_release(work)
    proc = sdops("release", cwd=work)
    assert proc.returncode == 9
    assert "real data would be pushed to the release remote 'store'" in proc.stderr
    assert "data/split/train.parquet" in proc.stderr
    dvc_yaml.write_text(original)
    # another name for the release remote's location is the release remote all the same
    dvc("remote", "modify", "private", "url", str(store) + "/", cwd=work)
    git("commit", "-qam", "Split back to a private remote", cwd=work)
    approve_release(work)
    proc = sdops("release", cwd=work)
    assert proc.returncode == 9
    assert "real data would be pushed to the release remote 'store'" in proc.stderr
    dvc("remote", "modify", "private", "url", str(private), cwd=work)
    git("commit", "-qam", "The private remote is private", cwd=work)
    approve_release(work)
    sdops("release", cwd=work, check=True)

    manifest = json.loads((work / "release/manifest.json").read_text())
    source_md5 = manifest["source"]["md5"]
    assert _object(private, source_md5).exists() and not _object(store, source_md5).exists()
    # a consumer has the release remote only: the synthetic table comes, the source does not
    hidden = tmp_path / "private-unreachable"
    private.rename(hidden)
    try:
        got = sdops(
            "get", "credit@latest", "-o", str(tmp_path / "s.csv"), "--repo", str(work), cwd=tmp_path
        )
        assert got.returncode == 0, got.stderr
        source = manifest["source"]["path"]
        proc = dvc("get", str(world["origin"]), source, "--rev", "credit@v1.0.0", "-o",
                   str(tmp_path / "src.csv"), cwd=tmp_path, check=False)  # fmt: skip
        assert proc.returncode != 0 and not (tmp_path / "src.csv").exists()
    finally:
        hidden.rename(private)


def test_served_and_stored_bytes_are_verified(world: dict[str, Path], tmp_path: Path) -> None:
    work, store = world["work"], world["store"]
    approve_release(work)
    sdops("release", cwd=work, check=True)
    md5 = json.loads((work / "release/manifest.json").read_text())["outputs"]["synthetic"]["md5"]
    real_row = (work / "data/source/credit.csv").read_text().splitlines()[1]
    for where in (store, work / ".dvc" / "cache"):
        _tamper(_object(where, md5), (real_row + "\n").encode())
    target = tmp_path / "synthetic.csv"
    proc = sdops("get", "credit@latest", "-o", str(target), "--repo", str(work), cwd=tmp_path)
    assert proc.returncode == 12 and "its manifest records" in proc.stderr
    assert not target.exists()

    from sdops_dvc import api
    from sdops_dvc.base.errors import IntegrityError

    with pytest.raises(IntegrityError):
        api.read_dataframe("credit@latest", repo=work)
    proc = sdops("verify", "credit@v1.0.0", cwd=work)
    assert proc.returncode == 1, proc.stdout
    assert "the DVC remote does not serve it intact" in proc.stderr
    assert "the local cache's object is altered" in proc.stderr


def test_only_real_release_tags_count(world: dict[str, Path], tmp_path: Path) -> None:
    work = world["work"]
    approve_release(work)
    sdops("release", cwd=work, check=True)
    git("tag", "credit@v9.9.9", "HEAD", cwd=work)  # lightweight, of the right shape
    # the record of credit@v1.0.0, without its signature (which signs that tag only)
    message = git("tag", "-l", "--format=%(contents)", "credit@v1.0.0", cwd=work).stdout
    message = message.split("-----BEGIN", 1)[0]
    git("commit", "-q", "--allow-empty", "-m", "later", cwd=work)
    git("tag", "-a", "credit@v9.9.8", "-m", message, "HEAD", cwd=work)  # a copied record
    # a well-formed record for another version at the released commit, signed by a key the
    # allowed signers do not hold
    mallory = Approver(tmp_path, "Mallory", "mallory@example.com")
    forged = message.replace('"version": "v1.0.0"', '"version": "v1.0.1"')
    git("-c", "gpg.format=ssh", "-c", f"user.signingkey={mallory.key}", "tag", "-s",
        "credit@v1.0.1", "-m", forged, "credit@v1.0.0^{commit}", cwd=work)  # fmt: skip
    # the same copy, unsigned: not a release (and a commit is released once)
    copied = message.replace('"version": "v1.0.0"', '"version": "v1.0.2"')
    git("tag", "-a", "credit@v1.0.2", "-m", copied, "credit@v1.0.0^{commit}", cwd=work)
    listed = json.loads(sdops("list", "--json", cwd=work, check=True).stdout)
    status = {r["tag"]: r["status"] for r in listed}
    assert status["credit@v1.0.0"] == "current"
    assert status["credit@v1.0.1"] == status["credit@v1.0.2"] == "not a release"
    assert status["credit@v9.9.9"] == status["credit@v9.9.8"] == "not a release"
    reasons = {r["tag"]: r.get("reason", "") for r in listed}
    assert "lightweight" in reasons["credit@v9.9.9"] and "names commit" in reasons["credit@v9.9.8"]
    assert "signature does not verify" in reasons["credit@v1.0.1"]
    assert "the tag is not signed" in reasons["credit@v1.0.2"]
    text = sdops("list", cwd=work, check=True).stdout
    assert "credit@v9.9.9" in text and "NOT A RELEASE" in text
    shown = json.loads(sdops("show", "credit@latest", "--json", cwd=work, check=True).stdout)
    assert shown["release"]["version"] == "v1.0.0"
    proc = sdops(
        "get", "credit@v9.9.9", "-o", str(tmp_path / "x.csv"), "--repo", str(work), cwd=tmp_path
    )
    assert proc.returncode == 10 and "is not a release: a lightweight tag" in proc.stderr


def test_a_leftover_local_tag_is_repaired_and_errors_carry_their_cause(
    world: dict[str, Path],
) -> None:
    work, origin = world["work"], world["origin"]
    approve_release(work)
    # an interrupted release of an earlier version left a local tag origin never accepted
    git("tag", "-a", "credit@v1.0.0", "-m", "interrupted", "HEAD", cwd=work)
    proc = sdops("release", cwd=work, check=True)
    assert "repaired: removed the local tag credit@v1.0.0" in proc.stdout
    assert "released credit@v1.0.0" in proc.stdout and "credit@v1.0.0" in remote_tags(origin)

    # a local tag that differs from origin's (another clone took that version) gives way to
    # origin's, saying so, instead of a bare "git fetch failed"
    published = git("ls-remote", "origin", "refs/tags/credit@v1.0.0", cwd=work).stdout.split()[0]
    git("tag", "-f", "-a", "credit@v1.0.0", "-m", "a clone's own idea", "HEAD", cwd=work)
    proc = sdops("release", cwd=work)
    assert "repaired: replaced the local tag credit@v1.0.0 by origin's" in proc.stderr + proc.stdout
    assert git("rev-parse", "credit@v1.0.0", cwd=work).stdout.strip() == published

    # a DVC push that fails says why, not only "Having any troubles?"
    set_params(work, {"generator.seed": 21})
    dvc("repro", cwd=work)
    git("add", "-A", cwd=work)
    git("commit", "-qm", "Seed 21", cwd=work)
    approve_release(work)
    bad = world["store"].parent / "store-is-a-file"
    bad.write_text("not a directory")
    dvc("remote", "modify", "--local", "store", "url", str(bad), cwd=work)
    proc = sdops("release", cwd=work)
    assert proc.returncode == 9 and "`dvc push` failed" in proc.stderr
    assert "ERROR" in proc.stderr and "Having any troubles" not in proc.stderr
    assert "credit@v1.1.0" not in tags(work)


def test_init_ignores_model_outputs_writes_dp_placeholders_and_follows_umask(
    small_source: Path, tmp_path: Path
) -> None:
    repo = tmp_path / "dp"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    old = os.umask(0o022)
    try:
        proc = sdops_in("init", "--source", str(small_source), "--name", "credit", "--family", "mst",
                        cwd=repo)  # fmt: skip
    finally:
        os.umask(old)
    assert proc.returncode == 0, proc.stderr
    assert "/model/dp_fit.npz" in (repo / ".gitignore").read_text()
    params = (repo / "params.yaml").read_text()
    assert "bounds: {" in params and "income: TODO" in params
    assert stat.S_IMODE((repo / "params.yaml").stat().st_mode) == 0o644
    assert stat.S_IMODE((repo / "metadata.json").stat().st_mode) == 0o644
    proc = sdops("split", cwd=repo)
    assert proc.returncode == 3
    assert "public bounds of" in proc.stderr and "income" in proc.stderr and "TODO" in proc.stderr
