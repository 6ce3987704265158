"""registry/checks.py in-process: the chain of hashes a release checks (the committed
metrics are what dvc.lock says evaluate wrote, from what split and generate produced), and
where real data may be pushed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml

from sdops_dvc.base.templates import read_template
from sdops_dvc.domain import layout as L
from sdops_dvc.domain.config import Params, parse_params
from sdops_dvc.registry.checks import (
    DETAILS,
    Committed,
    lock_problems,
    outs,
    parse_lock,
    real_data_outputs,
    remote_location,
    remote_problems,
)

METRICS, DETAILS_BYTES = b'{"quality": 1}', b'{"details": 1}'
SYN, TRAIN = "data/synthetic/synthetic.csv", L.TRAIN


def _md5(b: bytes) -> str:
    return hashlib.md5(b).hexdigest()


def _lock(metrics_md5: str, read_synthetic: str = "s1") -> bytes:
    lock = {
        "stages": {
            "split": {"outs": [{"path": TRAIN, "md5": "t1"}]},
            "generate": {"outs": [{"path": SYN, "md5": "s1"}]},
            "evaluate": {
                "deps": [{"path": SYN, "md5": read_synthetic}, {"path": TRAIN, "md5": "t1"}],
                "outs": [
                    {"path": L.METRICS, "md5": metrics_md5},
                    {"path": DETAILS, "md5": _md5(DETAILS_BYTES)},
                ],
            },
            "gate": {"deps": [{"path": L.METRICS, "md5": metrics_md5}]},
        }
    }
    return yaml.safe_dump(lock).encode()


def _committed(lock: bytes, metrics: bytes = METRICS) -> Committed:
    return Committed("", {L.METRICS: metrics, DETAILS: DETAILS_BYTES, L.DVC_LOCK: lock})


def test_the_committed_metrics_chain_to_the_pinned_data() -> None:
    assert lock_problems(_committed(_lock(_md5(METRICS))), [SYN], [TRAIN]) == []
    assert outs(parse_lock(_lock("m")), "evaluate", "deps") == {SYN: "s1", TRAIN: "t1"}


def test_metrics_edited_after_evaluation_are_named() -> None:
    problems = lock_problems(_committed(_lock(_md5(METRICS)), b'{"quality": 2}'), [SYN], [TRAIN])
    assert len(problems) == 1 and "edited after evaluation" in problems[0]


def test_metrics_of_another_synthetic_table_are_named() -> None:
    problems = lock_problems(_committed(_lock(_md5(METRICS), "s0")), [SYN], [TRAIN])
    assert problems and "not of the pinned data" in problems[0] and SYN in problems[0]


def test_no_readable_lock_is_one_problem() -> None:
    assert parse_lock(b"\xff") == {} and parse_lock(b"- a list") == {}
    problems = lock_problems(Committed("", {}), [SYN], [TRAIN])
    assert problems == [
        f"no readable {L.DVC_LOCK} committed at HEAD: run `dvc repro` and commit it"
    ]


def _project(root: Path, split_remote: str | None) -> Params:
    """The pipeline init writes, its source pushed to the private remote, and the split
    outputs to ``split_remote`` (None: the default remote, as the template has them)."""
    stages = yaml.safe_load(read_template("dvc.yaml"))
    if split_remote is not None:
        split = stages["stages"]["split"]
        split["outs"] = [{p: {"remote": split_remote}} for p in split["outs"]]
    (root / "dvc.yaml").write_text(yaml.safe_dump(stages))
    (root / "data").mkdir()
    out = {"md5": "0" * 32, "path": "source.csv", "remote": "private"}
    (root / "data/source.csv.dvc").write_text(yaml.safe_dump({"outs": [out]}))
    source = {"path": "data/source.csv", "snapshot_id": "s", "md5": "0" * 32}
    return parse_params({"dataset": {"name": "t"}, "source": source}, root / "params.yaml")


def test_real_data_must_not_reach_the_release_remote_under_any_name(tmp_path: Path) -> None:
    params = _project(tmp_path, "private")
    found = {o.path: o.remote for o in real_data_outputs(tmp_path, params)}
    assert found == {"data/source.csv": "private", L.TRAIN: "private", L.HOLDOUT: "private"}
    remotes = {"release": "/store/release", "private": "/store/private/"}
    assert remote_problems(tmp_path, params, remotes, "release") == []
    # the same location under another name is the release remote
    same = {"release": "/store/release", "private": "/store/release/"}
    leak = remote_problems(tmp_path, params, same, "release")
    assert leak and "data/source.csv" in leak[0] and L.TRAIN in leak[0]
    assert remote_location(tmp_path, "S3://bucket/x/") == "s3://bucket/x"
    assert remote_location(tmp_path, "../store") == str(tmp_path / "store")


def test_split_outputs_on_the_default_remote_leak(tmp_path: Path) -> None:
    params = _project(tmp_path, None)
    remotes = {"release": "/store/release", "private": "/store/private"}
    leak = remote_problems(tmp_path, params, remotes, "release")
    assert leak and L.TRAIN in leak[0] and "data/source.csv" not in leak[0]
    assert remote_problems(tmp_path, params, remotes, None) == []  # no remote: nothing pushed
    assert remote_location(tmp_path, "S3://bucket/x/") == "s3://bucket/x"
    assert remote_location(tmp_path, "../store") == str(tmp_path / "store")
