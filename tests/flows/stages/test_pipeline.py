"""init -> `dvc repro` end to end, on real git and DVC, with real SDV fits."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from sdops_dvc.base.fsutil import md5_file
from tests.conftest import dvc, git, lock_md5, read_lock, sdops, set_params

SYN = "data/synthetic/synthetic.csv"
TRAIN = "data/split/train.parquet"
HOLDOUT = "data/split/holdout.parquet"


def test_repro_produces_every_output(pipeline_outputs: Path) -> None:
    root = pipeline_outputs
    for rel in (
        TRAIN,
        HOLDOUT,
        SYN,
        "reports/metrics.json",
        "reports/gate.json",
        "release/manifest.json",
    ):
        assert (root / rel).exists(), rel
    gate = json.loads((root / "reports/gate.json").read_text())
    assert gate["approved"] is True and gate["failures"] == []
    assert set(gate["gates"]) >= {"schema", "quality"}
    metrics = json.loads((root / "reports/metrics.json").read_text())
    assert metrics["rows"] == {"train": 320, "holdout": 80, "synthetic": 320}
    assert 0.5 < metrics["quality"]["column_shapes"] <= 1.0
    # metrics and manifest are committed to git, data is not
    tracked = git("ls-files", cwd=root).stdout.split()
    assert "reports/metrics.json" in tracked and "release/manifest.json" in tracked
    assert SYN not in tracked and TRAIN not in tracked
    # the release pipeline is up to date (monitoring/dvc.yaml waits for its first scheduled run)
    assert dvc("status", "dvc.yaml", cwd=root).stdout.strip().endswith("up to date.")


def test_manifest_hashes_equal_dvc_lock(pipeline_outputs: Path) -> None:
    root = pipeline_outputs
    m = json.loads((root / "release/manifest.json").read_text())
    assert m["source"]["md5"] == lock_md5(root, "split", "data/source/credit.csv", "deps")
    assert m["split"]["train"]["md5"] == lock_md5(root, "split", TRAIN)
    assert m["split"]["holdout"]["md5"] == lock_md5(root, "split", HOLDOUT)
    assert m["outputs"]["synthetic"]["md5"] == lock_md5(root, "generate", SYN)
    assert m["outputs"]["metrics"]["md5"] == lock_md5(root, "evaluate", "reports/metrics.json")
    assert m["outputs"]["gate"]["md5"] == lock_md5(root, "gate", "reports/gate.json")
    assert m["outputs"]["synthetic"]["md5"] == md5_file(root / SYN)
    assert m["source"]["snapshot_id"] == "test://credit/v1"
    assert m["source"]["rows"] == 400 and m["split"]["train"]["rows"] == 320
    assert m["generator"]["family"] == "gaussian_copula"
    assert m["generator"]["sdv_class"] == "GaussianCopulaSynthesizer"
    assert m["generator"]["seed"] == 7 and m["generator"]["torch_threads"] == 1
    assert m["gates"]["approved"] is True
    assert m["gates"]["thresholds"]["quality"]["min_column_shapes"] == 0.8
    assert m["policy"]["owner"] == "tests"
    assert set(m["environment"]) >= {"python", "numpy", "pandas", "torch", "sdv"}


def test_manifest_check_validates_and_detects_tampering(
    pipeline_outputs: Path, tmp_path: Path
) -> None:
    root = pipeline_outputs
    proc = sdops("manifest", "--check", "release/manifest.json", cwd=root)
    assert proc.returncode == 0 and "valid" in proc.stdout
    data = json.loads((root / "release/manifest.json").read_text())
    data["generator"]["seed"] = 8
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(data))
    proc = sdops("manifest", "--check", str(forged), cwd=root)
    assert proc.returncode == 8
    assert "edited after it was sealed" in proc.stderr
    del data["policy"]
    forged.write_text(json.dumps(data))
    proc = sdops("manifest", "--check", str(forged), cwd=root)
    assert proc.returncode == 8 and "policy: Field required" in proc.stderr


def _copy(root: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(root, dst, symlinks=True)
    return dst


@pytest.mark.slow
def test_repro_twice_is_byte_identical_and_a_new_seed_changes_it(
    pipeline_outputs: Path, tmp_path: Path
) -> None:
    root = _copy(pipeline_outputs, tmp_path)
    first = lock_md5(root, "generate", SYN)
    manifest_md5 = md5_file(root / "release/manifest.json")
    dvc("repro", "-f", cwd=root)  # every stage again, in new processes
    assert lock_md5(root, "generate", SYN) == first
    assert md5_file(root / "release/manifest.json") == manifest_md5

    dvc("exp", "run", "-S", "generator.seed=11", cwd=root)
    assert yaml.safe_load((root / "params.yaml").read_text())["generator"]["seed"] == 11
    assert lock_md5(root, "generate", SYN) != first
    # split is seeded separately and did not change
    assert lock_md5(root, "split", TRAIN) == lock_md5(pipeline_outputs, "split", TRAIN)


def test_changed_source_is_refused_until_snapshot(pipeline_outputs: Path, tmp_path: Path) -> None:
    root = _copy(pipeline_outputs, tmp_path)
    src = root / "data/source/credit.csv"
    train_before = md5_file(root / TRAIN)
    with src.open("a") as fh:
        fh.write(src.read_text().splitlines()[1] + "\n")
    proc = dvc("repro", cwd=root, check=False)
    assert proc.returncode != 0
    assert "params.yaml pins" in proc.stderr + proc.stdout
    assert "sdops snapshot" in proc.stderr + proc.stdout
    # nothing half-written: DVC removed the stale outputs, ours wrote none, and the lock
    # still records the last good state, which `dvc checkout` restores from the cache
    assert not (root / TRAIN).exists()
    assert lock_md5(root, "split", TRAIN) == train_before
    dvc("checkout", "-q", TRAIN, cwd=root)
    assert md5_file(root / TRAIN) == train_before

    params_text = (root / "params.yaml").read_text()
    if "num_rows: null" not in params_text:  # spell one null out (the fixture wrote it empty)
        params_text = params_text.replace("num_rows:", "num_rows: null", 1)
        (root / "params.yaml").write_text(params_text)
    before = params_text.splitlines()
    assert any("num_rows: null" in line for line in before)
    proc = sdops("snapshot", "--id", "test://credit/v2", cwd=root, check=True)
    assert "pinned credit.csv" in proc.stdout
    text = (root / "params.yaml").read_text()
    assert md5_file(src) in text and "test://credit/v2" in text
    assert "# pin: change it only with `sdops snapshot`" in text  # comments survive
    # a round trip: only the two pinned lines changed (nulls stay `null`, lines unwrapped)
    after = text.splitlines()
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert len(changed) == 2 and all("md5:" in b or "snapshot_id:" in b for _, b in changed)
    dvc("repro", cwd=root)
    assert json.loads((root / "release/manifest.json").read_text())["source"]["rows"] == 401


def test_failing_gate_blocks_with_every_reason(pipeline_outputs: Path, tmp_path: Path) -> None:
    """Issue 12.5: a blocked verdict is a result; the pipeline runs on and records it, and
    `sdops gate --check` is what fails."""
    root = _copy(pipeline_outputs, tmp_path)
    set_params(root, {"gates.quality.min_column_shapes": 0.999})
    proc = dvc("repro", cwd=root, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    assert "RELEASE BLOCKED" in out
    assert "column shapes" in out and "below the minimum 0.999" in out
    gate = json.loads((root / "reports/gate.json").read_text())
    assert gate["approved"] is False and gate["gates"]["quality"]["passed"] is False
    assert gate["gates"]["schema"]["passed"] is True
    # the manifest stage ran and records the decision with every failure
    manifest = json.loads((root / "release/manifest.json").read_text())
    assert manifest["gates"]["approved"] is False
    assert manifest["gates"]["failures"] == gate["failures"]
    assert sdops("manifest", "--check", "release/manifest.json", cwd=root).returncode == 0
    # the verdict is a DVC metric
    shown = json.loads(dvc("metrics", "show", "--json", cwd=root).stdout)
    verdict = next(iter(shown.values()))["data"]["reports/verdict.json"]["data"]["gate"]
    assert verdict["approved"] == 0 and verdict["failures"] == len(gate["failures"])
    assert verdict["quality"] == 0 and verdict["schema"] == 1
    # enforcement: --check exits 1 and lists the reasons; an approved gate.json exits 0
    proc = sdops("gate", "--check", cwd=root)
    assert proc.returncode == 1 and "below the minimum 0.999" in proc.stderr
    assert sdops("gate", "--check", cwd=pipeline_outputs).returncode == 0
    # a hand-edited, inconsistent gate.json is not taken at its word
    gate["approved"] = True
    (root / "reports/gate.json").write_text(json.dumps(gate))
    proc = sdops("gate", "--check", "reports/gate.json", cwd=root)
    assert proc.returncode == 4 and "inconsistent" in proc.stderr
    proc = sdops("gate", "--check", "reports/metrics.json", cwd=root)
    assert proc.returncode == 4 and "is not a gate.json" in proc.stderr


def test_blocked_experiment_is_listed_with_its_verdict(
    pipeline_outputs: Path, tmp_path: Path
) -> None:
    """Issue 12.5: `dvc exp run` of a blocked candidate exits 0 and `dvc exp show` lists it."""
    root = _copy(pipeline_outputs, tmp_path)
    proc = dvc(
        "exp", "run", "-S", "generator.seed=3", "-S", "gates.quality.min_column_shapes=0.999",
        "-n", "blocked-seed-3", cwd=root, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    shown = json.loads(dvc("exp", "show", "--json", cwd=root).stdout)
    verdicts = {}
    for commit in shown:
        for exp in commit.get("experiments") or []:
            for rev in exp.get("revs") or []:
                data = rev["data"]
                metric = data["metrics"]["reports/verdict.json"]["data"]["gate"]
                verdicts[rev.get("name") or exp.get("name")] = metric["approved"]
    assert verdicts.get("blocked-seed-3") == 0, shown
    baseline = next(c for c in shown if c["rev"] != "workspace")  # the committed candidate
    assert baseline["data"]["metrics"]["reports/verdict.json"]["data"]["gate"]["approved"] == 1


def test_bad_params_fail_the_first_stage_and_leave_no_outputs(pipeline: Path) -> None:
    root = pipeline
    cases = [
        ({"generator.sed": 3}, 3, "generator.sed: unknown key (did you mean 'seed'?)"),
        ({"generator.family": "ctgn"}, 3, "did you mean 'ctgan'"),
        ({"generator.parameters": {"epochs": 5}}, 3, "takes no parameter 'epochs'"),
        ({"dataset.target": "crad"}, 4, "dataset.target: column 'crad' is not in the source"),
        (
            {
                "generator.constraints": [
                    {
                        "type": "Inequality",
                        "args": {"low_column_name": "income", "high_column_name": "expenditur"},
                    }
                ]
            },
            4,
            "column 'expenditur' is not in the source (did you mean 'expenditure'?)",
        ),
        ({"source.md5": "0" * 32}, 5, "params.yaml pins 00000"),
    ]
    original = (root / "params.yaml").read_text()
    for updates, code, message in cases:
        (root / "params.yaml").write_text(original)
        set_params(root, updates)
        proc = sdops("split", cwd=root)
        assert proc.returncode == code, (updates, proc.stderr)
        assert message in proc.stderr, (updates, proc.stderr)
        assert "Traceback" not in proc.stderr
        proc = dvc("repro", cwd=root, check=False)
        assert proc.returncode != 0
        assert message in proc.stdout + proc.stderr
        assert not (root / "data/split").exists() or not any((root / "data/split").iterdir())
        assert not (root / "data/synthetic").exists()
        assert "dvc.lock" not in {p.name for p in root.iterdir()} or "split" not in read_lock(
            root
        ).get("stages", {})


def test_empty_or_non_table_source_is_refused(pipeline: Path) -> None:
    root = pipeline
    src = root / "data/source/credit.csv"
    for content, message in (
        (b"card,age\n", "has a header but no rows"),
        (bytes(range(256)) * 20, "not a readable csv table"),
    ):
        src.write_bytes(content)
        sdops("snapshot", cwd=root)  # refuses too
        set_params(root, {"source.md5": md5_file(src)})
        proc = sdops("split", cwd=root)
        assert proc.returncode == 4 and message in proc.stderr
        assert not (root / "data/split").exists()


def test_snapshot_warns_when_the_dvc_pointer_lags(pipeline: Path) -> None:
    src = pipeline / "data/source/credit.csv"
    with src.open("a") as fh:
        fh.write(src.read_text().splitlines()[1] + "\n")
    proc = sdops("snapshot", cwd=pipeline, check=True)
    assert "run `dvc add data/source/credit.csv`" in proc.stderr
    proc = sdops("snapshot", cwd=pipeline, check=True)
    assert "pin unchanged" in proc.stdout
