"""The git plumbing adapter on a real repository and a real bare remote (in-process)."""

from __future__ import annotations

from pathlib import Path

from sdops_dvc.base.scm import ZERO, Refs, trailers
from tests.conftest import git


def test_trailers_are_read_by_key_case_insensitively() -> None:
    text = (
        "Approve\n\nbody line: not a trailer key\nApproved-by: Ana <a@x>\n"
        " Approved-by: indented <no@x>\nreviewed-BY: Bo <b@x>\nApproves: abc1234\n"
    )
    assert trailers(text, "approved-by", "reviewed-by") == [
        ("approved-by", "Ana <a@x>"),
        ("reviewed-by", "Bo <b@x>"),
    ]
    assert trailers(text, "approves") == [("approves", "abc1234")]
    assert trailers("Approved-by:   \n", "approved-by") == []


def test_refs_write_compare_and_swap_and_push_atomically(tmp_path: Path) -> None:
    work, origin = tmp_path / "work", tmp_path / "origin.git"
    git("init", "-q", "--bare", str(origin), cwd=tmp_path)
    work.mkdir()
    git("init", "-q", cwd=work)
    git("commit", "-q", "--allow-empty", "-m", "first", cwd=work)
    git("remote", "add", "origin", str(origin), cwd=work)
    head = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    refs = Refs(work)

    one = refs.commit_file("ledger.json", '{"n": 1}\n', "budget: one", None)
    assert refs.set("refs/sdops/budget/x", one, ZERO) is None
    assert refs.value("refs/sdops/budget/x") == one
    assert refs.text_at("refs/sdops/budget/x", "ledger.json") == '{"n": 1}\n'
    two = refs.commit_file("ledger.json", '{"n": 2}\n', "budget: two", one)
    assert refs.set("refs/sdops/budget/x", two, ZERO) is not None  # it exists: refused
    assert refs.set("refs/sdops/budget/x", two, one) is None
    assert refs.names("refs/sdops/budget/") == ["refs/sdops/budget/x"]

    tag = refs.tag_object("credit@v1.0.0", head, "Release\n\n{}\n")
    pushed = refs.push_atomic(
        "origin",
        [f"{tag}:refs/tags/credit@v1.0.0", f"{two}:refs/sdops/budget/x"],
        ("refs/sdops/budget/x", None),
    )
    assert pushed.ok, pushed.lines
    assert refs.remote_tags("origin") == {"credit@v1.0.0": tag}
    assert refs.remote_value("origin", "refs/sdops/budget/x") == two
    # a lease on a stale value refuses the whole push: neither ref moves
    three = refs.commit_file("ledger.json", '{"n": 3}\n', "budget: three", two)
    tag2 = refs.tag_object("credit@v1.1.0", head, "Release\n\n{}\n")
    refused = refs.push_atomic(
        "origin",
        [f"{tag2}:refs/tags/credit@v1.1.0", f"{three}:refs/sdops/budget/x"],
        ("refs/sdops/budget/x", one),
    )
    assert not refused.ok and any("stale info" in line for line in refused.lines)
    assert refs.remote_tags("origin") == {"credit@v1.0.0": tag}
    assert refs.remote_value("origin", "refs/sdops/budget/x") == two
    assert refs.remote_tags(str(tmp_path / "nowhere.git")) is None
