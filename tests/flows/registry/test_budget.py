"""Privacy budget end to end: OpenDP MST releases from two clones of one bare remote.

Real git (a bare origin with a slow pre-receive hook to make the race real), a real local DVC
remote, real OpenDP measurements. Covers: byte-identical DP output for the same seed; two
clones racing for the last budget produce exactly one release; the over-cap release is refused
and leaves nothing; ledger totals equal compositions computed independently (OpenDP's own
zCDP-to-(epsilon, delta) conversion); raising the cap is listed as its own change; the budget
reads the same after a revoke; a release sampled from an already spent measurement is free.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sdops_dvc.domain.budget import zcdp_epsilon
from tests.conftest import dvc, git, sdops, sdops_in, set_params, trust
from tests.unit.test_accounting import (
    opendp_epsilon,  # OpenDP's own conversion, independent of ours
)

pytestmark = pytest.mark.slow

HEALTH = Path(__file__).resolve().parents[3] / "sdops_dvc" / "data" / "health_insurance.csv"
RHO = 0.05  # each release's zCDP loss
DELTA = 1e-6  # each release's delta; half of it discovers categories privately
DELTA0 = DELTA / 2
CAP_DELTA = 1e-5


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def remote_tags(origin: Path) -> list[str]:
    out = git("ls-remote", "--tags", str(origin), cwd=origin).stdout
    return sorted(line.split("refs/tags/")[1] for line in out.splitlines() if "^{}" not in line)


def remote_ledger(origin: Path) -> tuple[str | None, dict | None]:  # type: ignore[type-arg]
    out = git("for-each-ref", "--format=%(objectname)", "refs/sdops/budget/", cwd=origin).stdout
    shas = out.split()
    if not shas:
        return None, None
    assert len(shas) == 1, "one budget scope, one ledger ref"
    text = git("show", f"{shas[0]}:ledger.json", cwd=origin).stdout
    return shas[0], json.loads(text)


def commit_all(cwd: Path, message: str) -> None:
    git("add", "-A", cwd=cwd)
    git("commit", "-qm", message, cwd=cwd)


def budget_json(cwd: Path) -> dict:  # type: ignore[type-arg]
    return json.loads(sdops("budget", "--json", cwd=cwd, check=True).stdout)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("budget")
    src = base / "incoming" / "health.csv"
    src.parent.mkdir(parents=True)
    cols = ["age", "gender", "region", "health", "insurance"]
    pd.read_csv(HEALTH)[cols].head(1500).to_csv(src, index=False)
    origin, store, a = base / "origin.git", base / "store", base / "a"
    git("init", "-q", "--bare", str(origin), cwd=base)
    a.mkdir()
    git("init", "-q", cwd=a)
    sdops_in("init", "--no-measure", "--source", str(src), "--name", "ins-a", "--target", "insurance",
          "--snapshot-id", "test://health/v1", cwd=a, check=True)  # fmt: skip
    # one release fits under the cap, two do not (compositions in rho: 0.05 < 0.075 < 0.10)
    cap = zcdp_epsilon(1.5 * RHO, CAP_DELTA - 2 * DELTA0)
    set_params(
        a,
        {
            "generator.family": "mst",
            "generator.privacy": {
                "rho": RHO,
                "delta": DELTA,
                "bins": 8,
                "bounds": {"age": [18, 65]},
                "categories": {"gender": ["female", "male"]},
            },
            "budget.epsilon": round(cap, 6),
            "budget.delta": CAP_DELTA,
            "policy.owner": "tests",
            "policy.intended_use": "tests",
            "policy.audiences": ["tests"],
            "policy.access_classification": "internal",
            "policy.retention_days": 30,
            "evaluation.privacy.quasi_identifiers": ["age", "gender", "region"],
            "evaluation.privacy.sensitive": ["health"],
            "evaluation.privacy.n_attacks": 100,
            "evaluation.subgroups.columns": [],
            # binned DP output is easy to tell from real rows: these tests are about the budget
            "gates.quality.enabled": False,
            "gates.subgroup.enabled": False,
            # health is binary and skewed: inference on 3 quasi-identifiers is ~0.35 for any
            # model that keeps its marginal; the privacy gate's other checks stay in force
            "gates.privacy.max_inference_risk": 1.0,
            # on five coarse columns about 40% of any rows, train or holdout, coincide with a
            # real row; the DP noise is drawn afresh each run (unseedable by design), and at
            # this epsilon (about 1.7) the copy excess can cross the McNemar test in some runs.
            # The exact-copy check has its own tests; these are about the budget
            "gates.privacy.max_exact_match_excess": 0.2,
            # approvals have their own tests (tests/flows/registry/test_controls.py); declared, as it must be
            "release.approvals.required": False,
        },
    )
    git("remote", "add", "origin", str(origin), cwd=a)
    dvc("remote", "add", "-d", "store", str(store), cwd=a)
    sdops("private-remote", str(base / "private"), cwd=a, check=True)
    trust(a)  # the release tags are signed by the suite's key, listed here
    dvc("repro", cwd=a)
    commit_all(a, "MST pipeline under a budget cap")
    dvc("push", "-q", cwd=a)
    git("push", "-q", "origin", "HEAD:main", cwd=a)
    b = base / "b"
    git("clone", "-q", str(origin), str(b), cwd=base)
    dvc("pull", "-q", cwd=b)
    set_params(b, {"dataset.name": "ins-b", "generator.privacy.bins": 10})
    dvc("repro", cwd=b)
    commit_all(b, "A second artifact from the same source, freshly measured")
    return {"origin": origin, "store": store, "a": a, "b": b}


def test_dp_output_is_byte_identical_for_the_same_seed(world: dict[str, Path]) -> None:
    a = world["a"]
    synthetic, fit = a / "data/synthetic/synthetic.csv", a / "model/dp_fit.npz"
    before = md5(synthetic), md5(fit)
    dvc("repro", "-f", "generate", cwd=a)
    assert (md5(synthetic), md5(fit)) == before, "same measurement and seed: same bytes"
    manifest = json.loads((a / "release/manifest.json").read_text())
    p = manifest["privacy"]
    assert p["formal_guarantee"] is True and p["mechanism"].startswith("MST")
    assert p["native"] == {"rho": RHO, "delta": DELTA0}
    assert p["epsilon"] == pytest.approx(opendp_epsilon(RHO, DELTA - DELTA0), rel=1e-9)
    assert sorted(p["preprocessing"]["key_discovery_columns"]) == ["health", "insurance", "region"]
    assert p["budget_scope"].startswith("sha256:")
    git("checkout", "-q", "--", ".", cwd=a)
    assert git("status", "--porcelain", cwd=a).stdout == ""


def test_two_clones_race_for_the_last_budget(world: dict[str, Path]) -> None:
    origin, a, b = world["origin"], world["a"], world["b"]
    gates = [json.loads((c / "reports/gate.json").read_text()) for c in (a, b)]
    assert all(g["approved"] for g in gates), "each clone alone fits under the cap"
    # a slow remote: both clones read the ledger before either push lands
    hook = origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nsleep 3\n")
    hook.chmod(0o755)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "sdops_dvc", "release"],
            cwd=c,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for c in (a, b)
    ]
    results = [(p.wait(timeout=600), p.stderr.read() if p.stderr else "") for p in procs]
    hook.unlink()
    codes = sorted(rc for rc, _ in results)
    assert codes == [0, 9], results
    winner, loser = (a, b) if results[0][0] == 0 else (b, a)
    loser_err = results[1][1] if winner is a else results[0][1]
    assert "budget" in loser_err
    tags = remote_tags(origin)
    assert len(tags) == 1 and tags[0].endswith("@v1.0.0"), tags
    _, ledger = remote_ledger(origin)
    assert ledger is not None and [r["tag"] for r in ledger["releases"]] == tags
    assert git("tag", cwd=loser).stdout.strip() in ("", tags[0])

    # the loser tries again: refused by the budget check itself, with the amount, and
    # nothing is left behind (no tag here or there, the ledger ref unchanged)
    sha_before, _ = remote_ledger(origin)
    again = sdops("release", cwd=loser)
    assert again.returncode == 9, again.stderr
    assert "over by epsilon" in again.stderr and "refused" in again.stderr
    assert remote_tags(origin) == tags
    assert remote_ledger(origin)[0] == sha_before
    local = git("tag", cwd=loser).stdout.split()
    assert not [t for t in local if t not in tags]

    # raising the cap is its own reviewed change; then the loser's release fits
    set_params(loser, {"budget.epsilon": 10.0})
    commit_all(loser, "Raise the privacy budget cap (approved by the DPO)")
    dvc("repro", cwd=loser)
    commit_all(loser, "Re-gate under the raised cap")
    sdops("release", cwd=loser, check=True)
    report = budget_json(loser)
    entries = report["entries"]
    assert len(entries) == 2 and all(e["counted"] for e in entries)
    assert report["total"]["rho"] == pytest.approx(2 * RHO, rel=1e-12)
    assert report["total"]["delta0"] == pytest.approx(2 * DELTA0, rel=1e-12)
    expected = opendp_epsilon(2 * RHO, CAP_DELTA - 2 * DELTA0)
    assert report["total"]["epsilon"] == pytest.approx(expected, rel=1e-9)
    assert report["total"]["remaining_epsilon"] == pytest.approx(10.0 - expected, rel=1e-9)
    changes = report["cap_changes"]
    assert len(changes) == 1 and changes[0]["raised"] and changes[0]["own_change"]
    assert changes[0]["to"]["epsilon"] == 10.0
    gate = json.loads((loser / "reports/gate.json").read_text())
    assert any("RAISED" in n for n in gate["budget"]["notes"])
    assert "remaining epsilon" in (loser / "reports/report.md").read_text()

    # revoking does not give budget back
    first = entries[0]["tag"]
    git("fetch", "-q", "origin", "refs/tags/*:refs/tags/*", cwd=loser)
    sdops("revoke", first.replace("@", "@", 1), "--reason", "test", "--kind", "other",
          cwd=loser, check=True)  # fmt: skip
    after = budget_json(loser)
    assert after["total"] == report["total"]
    assert {e["tag"]: e["status"] for e in after["entries"]}[first] == "revoked"

    # a new seed samples the same measurement again: new bytes, no new spend
    synthetic = loser / "data/synthetic/synthetic.csv"
    old_bytes, old_fit = md5(synthetic), md5(loser / "model/dp_fit.npz")
    set_params(loser, {"generator.seed": 8})
    dvc("repro", cwd=loser)
    assert md5(loser / "model/dp_fit.npz") == old_fit and md5(synthetic) != old_bytes
    commit_all(loser, "Resample with another seed")
    sdops("release", cwd=loser, check=True)
    final = budget_json(loser)
    assert [e["counted"] for e in final["entries"]] == [True, True, False]
    assert final["total"]["rho"] == pytest.approx(2 * RHO, rel=1e-12)

    # a DP release re-runs byte for byte elsewhere: verify pulls the saved measurement
    last = final["entries"][-1]["tag"]
    verified = sdops("verify", last, cwd=loser)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "data/synthetic/synthetic.csv" in verified.stdout

    # without the measurement in the remote or cache, verify refuses rather than measure again
    fit_md5 = md5(loser / "model/dp_fit.npz")
    for copy in [*world["store"].rglob(fit_md5[2:]), *(loser / ".dvc").rglob(fit_md5[2:])]:
        copy.unlink()
    missing = sdops("verify", last, cwd=loser)
    assert missing.returncode == 10, missing.stdout + missing.stderr
    assert "cannot be re-run" in missing.stderr and fit_md5 in missing.stderr


def test_spent_stays_spent(world: dict[str, Path]) -> None:
    """Issue 11.3: a deleted tag keeps its spend (the append-only ledger refs), a renamed
    scope still counts the source's spends (its lineage), and a measurement that would
    exceed the cap is refused before any noise is drawn."""
    a = world["a"]
    git("fetch", "-q", "origin", "refs/tags/*:refs/tags/*",
        "refs/sdops/budget/*:refs/sdops/budget/*", cwd=a)  # fmt: skip
    before = budget_json(a)
    counted = [e for e in before["entries"] if e["counted"] and e["rho"] > 0]
    assert counted and before["total"]["rho"] > 0
    gone = counted[0]["tag"]
    git("push", "-q", "origin", f":refs/tags/{gone}", cwd=a)
    assert gone not in remote_tags(world["origin"])
    git("tag", "-d", gone, cwd=a)
    after = budget_json(a)
    assert after["total"]["rho"] == pytest.approx(before["total"]["rho"], rel=1e-12)
    assert {e["tag"]: e["status"] for e in after["entries"]}[gone] == "tag gone, spend kept"
    shown = sdops("budget", cwd=a)  # the text view renders an entry only the ledger holds
    assert shown.returncode == 0, shown.stderr
    assert gone in shown.stdout and "tag gone, spend kept" in shown.stdout

    # a renamed scope is a new name for the same people: the spends still count, and the
    # rename is listed beside the cap changes
    set_params(a, {"budget.scope": "a-fresh-start"})
    commit_all(a, "Rename the budget scope")
    renamed = budget_json(a)
    assert renamed["total"]["rho"] == pytest.approx(before["total"]["rho"], rel=1e-12)
    assert any("scope RENAMED" in c["summary"] for c in renamed["cap_changes"])

    # a measurement over the cap is refused before OpenDP draws anything
    fit = a / "model/dp_fit.npz"
    fit_md5 = md5(fit)
    cap = zcdp_epsilon(before["total"]["rho"] + 0.001, CAP_DELTA - 2 * DELTA0)
    set_params(a, {"budget.epsilon": round(cap, 6), "generator.privacy.bins": 12})
    proc = sdops("generate", "--out", "data/synthetic/synthetic.csv", cwd=a)
    assert proc.returncode == 11, proc.stderr
    assert "no DP measurement was drawn" in proc.stderr and "over by epsilon" in proc.stderr
    assert md5(fit) == fit_md5
    git("checkout", "-q", "--", "params.yaml", cwd=a)


def test_deleted_tags_and_ledger_are_found_in_the_released_bytes(
    world: dict[str, Path], tmp_path: Path
) -> None:
    """Issue 25, reproduction 6a: the release tags *and* the ledger deleted on origin, a
    release from a fresh clone. The released manifest on main and its synthetic table in the
    release remote still record the spend: refused."""
    a, origin = world["a"], world["origin"]
    git("fetch", "-q", "origin", "refs/tags/*:refs/tags/*", cwd=a)
    released = [t for t in remote_tags(origin) if "@v" in t and "!" not in t]
    assert released
    # main carries a released commit, as when releases are cut on merge to main
    git("push", "-q", "-f", "origin", f"{released[0]}^{{commit}}:refs/heads/main", cwd=a)
    refs = git("ls-remote", str(origin), cwd=a).stdout.split()
    doomed = [r for r in refs if r.startswith(("refs/tags/", "refs/sdops/budget/"))]
    git("push", "-q", "origin", *[f":{r}" for r in doomed if not r.endswith("^{}")], cwd=a)
    assert remote_tags(origin) == [] and remote_ledger(origin) == (None, None)
    fresh = tmp_path / "fresh"
    git("clone", "-q", str(origin), str(fresh), cwd=tmp_path)
    # the source and split come; an earlier release's DP measurement may not (not needed:
    # the candidate measures afresh)
    dvc("pull", "-q", cwd=fresh, check=False)
    set_params(fresh, {"generator.privacy.bins": 9})  # a new measurement: a new spend
    dvc("repro", cwd=fresh)
    commit_all(fresh, "Measure again")
    proc = sdops("release", "--no-regenerate", cwd=fresh)
    assert proc.returncode == 9, proc.stdout + proc.stderr
    assert "its synthetic table is in the release remote (published)" in proc.stderr
    assert "the budget ledger holds no such spend" in proc.stderr
