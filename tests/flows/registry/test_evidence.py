"""A release's evidence for outsiders, end to end on a real release (bare origin, DVC release
remote, SSH-signed tag): the Croissant card validated by mlcroissant offline and loaded, the
in-toto / SLSA statement parsed by the in-toto attestation bindings, and ``sdops verify
--signature`` refusing each tampering the issue names."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.conftest import CREDIT, Approver, approve_release, git, run, sdops
from tests.flows.registry.test_release import copy_world

TAG = "credit@v1.0.0"


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory, pipeline_outputs: Path) -> dict[str, Path]:
    from tests.conftest import make_world

    base = tmp_path_factory.mktemp("evidence")
    world = make_world(pipeline_outputs, base, Approver(base, "Ana Privacy", "ana@example.com"))
    approve_release(world["work"])
    sdops("release", cwd=world["work"], check=True)
    return world


@pytest.fixture(scope="module")
def fetched(released: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What a consumer gets with `sdops get --card` from the bare origin alone."""
    out = tmp_path_factory.mktemp("consumer") / "credit"
    sdops(
        "get",
        TAG,
        "--card",
        "-o",
        str(out),
        "--repo",
        str(released["origin"]),
        cwd=out.parent,
        check=True,
    )
    return out


def _record(work: Path) -> dict[str, Any]:
    body = git("tag", "-l", "--format=%(contents:body)", TAG, cwd=work).stdout
    return json.loads(body)  # type: ignore[no-any-return]


def _stored(store: Path, md5: str) -> Path:
    return store / "files" / "md5" / md5[:2] / md5[2:]


def test_the_card_validates_and_its_record_set_loads(fetched: Path) -> None:
    import jsonschema
    import mlcroissant as mlc

    card = fetched / "croissant.json"
    proc = run(["mlcroissant", "validate", "--jsonld", str(card)], fetched)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "warning" not in (proc.stdout + proc.stderr).lower(), proc.stderr  # none at all
    doc = json.loads(card.read_text())
    schema = json.loads(
        (Path(__file__).parents[3] / "sdops_dvc/schemas/card.schema.json").read_text()
    )
    jsonschema.validate(doc, schema)  # the RAI fields this project requires, non-empty
    data = fetched / "synthetic.csv"
    frame = pd.read_csv(data)
    records = list(mlc.Dataset(jsonld=str(card)).records(record_set="credit"))
    assert len(records) == len(frame)
    dist = doc["distribution"][0]
    assert dist["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert [f["name"] for f in doc["recordSet"][0]["field"]] == list(frame.columns)
    kinds = {f["name"]: f["dataType"] for f in doc["recordSet"][0]["field"]}
    assert kinds["age"] == "sc:Float" and kinds["card"] == "sc:Text"
    assert doc["version"] == "1.0.0" and doc["rai:dataUseCases"][0]
    assert doc["prov:wasGeneratedBy"]["description"].startswith("generator ")


def test_no_source_value_in_the_card_or_statement(fetched: Path) -> None:
    """Column names, types, counts, digests and aggregate metrics only: no cell of the source
    (numbers of three or more significant digits and category values) appears in any file."""
    source = pd.read_csv(CREDIT)
    text = "".join(
        (fetched / n).read_text()
        for n in ("croissant.json", "provenance.intoto.json", "datasheet.md")
    )
    tokens = set(text.replace('"', " ").replace(",", " ").split())
    cells = {str(v) for c in source.columns for v in source[c].unique()}
    leaked = {c for c in cells if c in tokens and (len(c) >= 5 or not c.replace(".", "").isdigit())}
    leaked -= {"yes", "no"} & leaked  # category labels that are also English words
    assert not leaked, sorted(leaked)[:10]


def test_the_statement_is_in_toto_v1_with_slsa_provenance(
    fetched: Path, released: dict[str, Path]
) -> None:
    from google.protobuf import json_format
    from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
    from in_toto_attestation.v1 import statement_pb2
    from in_toto_attestation.v1.statement import Statement

    raw = json.loads((fetched / "provenance.intoto.json").read_text())
    pb = json_format.ParseDict(raw, statement_pb2.Statement())  # unknown fields fail
    Statement.copy_from_pb(pb).validate()
    prov = json_format.ParseDict(raw["predicate"], provenance_pb2.Provenance())
    assert prov.build_definition.build_type and prov.run_details.builder.id
    data = (fetched / "synthetic.csv").read_bytes()
    assert raw["subject"][0]["digest"]["sha256"] == hashlib.sha256(data).hexdigest()
    deps = {d["name"]: d for d in raw["predicate"]["buildDefinition"]["resolvedDependencies"]}
    head = git("rev-parse", TAG + "^{commit}", cwd=released["work"]).stdout.strip()
    assert deps["code"]["digest"]["gitCommit"] == head
    params = git("show", f"{TAG}:params.yaml", cwd=released["work"]).stdout.encode()
    ext = raw["predicate"]["buildDefinition"]["externalParameters"]
    assert ext["params"]["digest"]["sha256"] == hashlib.sha256(params).hexdigest()
    assert ext["seed"] == 7
    by = {b["name"] for b in raw["predicate"]["runDetails"]["byproducts"]}
    assert {"release/manifest.json", "reports/gate.json", "reports/report.html"} <= by


def test_the_signed_tag_pins_every_evidence_file(released: dict[str, Path], fetched: Path) -> None:
    record = _record(released["work"])
    for name in ("croissant.json", "provenance.intoto.json", "datasheet.md"):
        data = (fetched / name).read_bytes()
        assert record["evidence"][name]["sha256"] == hashlib.sha256(data).hexdigest()
        stored = _stored(released["store"], record["evidence"][name]["md5"])
        assert stored.read_bytes() == data  # in the release remote, as made


def test_verify_checks_the_evidence(released: dict[str, Path]) -> None:
    proc = sdops("verify", TAG, "--json", cwd=released["work"], check=True)
    out = json.loads(proc.stdout)
    assert "croissant.json (made again)" in out["evidence_checked"]
    assert "provenance.intoto.json (release remote)" in out["evidence_checked"]
    proc = sdops("verify", TAG, "--signature", "--json", cwd=released["work"], check=True)
    out = json.loads(proc.stdout)
    assert out["signature"].startswith("verified against .sdops/allowed_signers")
    assert "data/synthetic/synthetic.csv (DVC remote)" in out["checked"]


@pytest.fixture
def copy(released: dict[str, Path], tmp_path: Path) -> dict[str, Path]:
    return copy_world(released, tmp_path / "copy")


def _fails(work: Path, *expected: str) -> str:
    proc = sdops("verify", TAG, "--signature", cwd=work)
    assert proc.returncode == 12, proc.stderr
    for text in expected:
        assert text in proc.stderr
    return proc.stderr


def test_verify_signature_names_a_flipped_data_byte(copy: dict[str, Path]) -> None:
    work, store = copy["work"], copy["store"]
    md5 = json.loads((work / "release/manifest.json").read_text())["outputs"]["synthetic"]["md5"]
    obj = _stored(store, md5)
    data = bytearray(obj.read_bytes())
    data[len(data) // 2] ^= 0x01
    obj.chmod(0o644)
    obj.write_bytes(bytes(data))
    shutil.rmtree(work / ".dvc" / "cache")  # the clone's cache cannot stand in for the remote
    _fails(work, "data/synthetic/synthetic.csv", "does NOT verify")


@pytest.mark.parametrize("name", ["croissant.json", "provenance.intoto.json"])
def test_verify_signature_names_an_edited_card_or_statement(
    copy: dict[str, Path], name: str
) -> None:
    work, store = copy["work"], copy["store"]
    obj = _stored(store, _record(work)["evidence"][name]["md5"])
    doc = json.loads(obj.read_text())
    doc["version" if name == "croissant.json" else "predicateType"] = "edited"
    obj.chmod(0o644)
    obj.write_text(json.dumps(doc))
    _fails(work, f"{name}: the release remote's copy is altered")


def test_verify_signature_refuses_a_tag_resigned_by_an_unlisted_key(
    copy: dict[str, Path], tmp_path: Path
) -> None:
    work = copy["work"]
    mallory = Approver(tmp_path, "Mallory", "mallory@example.com")
    body = git("tag", "-l", "--format=%(contents)", TAG, cwd=work).stdout
    message = body.split("-----BEGIN SSH SIGNATURE-----")[0]
    git("tag", "-d", TAG, cwd=work)
    git(
        "-c",
        "gpg.format=ssh",
        "-c",
        f"user.signingkey={mallory.key}",
        "tag",
        "-s",
        "-m",
        message,
        TAG,
        "HEAD",
        cwd=work,
    )
    _fails(work, TAG, "signature does not verify")


def test_verify_signature_refuses_an_unsigned_tag_when_signing_is_required(
    copy: dict[str, Path],
) -> None:
    work = copy["work"]
    body = git("tag", "-l", "--format=%(contents)", TAG, cwd=work).stdout
    message = body.split("-----BEGIN SSH SIGNATURE-----")[0]
    git("tag", "-d", TAG, cwd=work)
    git("tag", "--no-sign", "-a", "-m", message, TAG, "HEAD", cwd=work)
    _fails(work, TAG, "not signed")
