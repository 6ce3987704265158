"""report/site.py in-process: the catalog's pages from a Site value: one index and one page
per release, the release in service named, revocations and unverified releases marked,
and every value escaped."""

from __future__ import annotations

from dataclasses import replace

from sdops_dvc.report.site import BudgetView, DatasetView, ReleaseView, Site, render


def _release(version: str, status: str, **kw: object) -> ReleaseView:
    base = ReleaseView(
        tag=f"t@v{version}",
        name="t",
        version=version,
        status=status,
        verified=True,
        released_at="2026-12-01T10:00:00Z",
        releaser="dev <dev@example.com>",
        commit="a" * 40,
        gates={"privacy": True, "quality": None},
        metrics={"quality.detection_auc": 0.61, "utility.ratio": None},
        approvals=["privacy: dana"],
        regenerated=True,
        spend="none",
        budget_scope=None,
        revocation=None,
        evidence={"card.json": {"sha256": "b" * 64}},
        files={"card": "card.json"},
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def _site() -> Site:
    old = _release(
        "1.0.0",
        "revoked",
        revocation={"kind": "privacy", "reason": "rows <copied>", "actor": "x", "revoked_at": "t"},
    )
    new = _release("1.1.0", "current", verified=False)
    data = DatasetView("t", [old, new], {}, [], [("team", "a@b", "1.1.0")], [])
    budget = BudgetView("scope-1", 1.0, 1e-6, [("t@v1.1.0", "current", "epsilon 0.5")], 0.5, 0.5)
    return Site("Releases <demo>", None, "c" * 40, [data], [budget], [("t@v9", "unsigned")])


def test_one_index_and_one_page_per_release() -> None:
    pages = render(_site())
    assert sorted(pages) == [
        "index.html",
        "releases/t/1.0.0/index.html",
        "releases/t/1.1.0/index.html",
    ]
    index = pages["index.html"]
    assert "<td>1.1.0</td>" in index  # in service
    assert "Releases &lt;demo&gt;" in index and "<demo>" not in index
    assert 'data-status="revoked"' in index and "rows &lt;copied&gt;" in index
    assert "unverified" in index and "remaining epsilon 0.5" in index
    assert "<code>t@v9</code>: unsigned" in index


def test_a_release_page_shows_its_gates_metrics_and_evidence_digests() -> None:
    page = render(_site())["releases/t/1.0.0/index.html"]
    assert '<span class="pass">pass</span>' in page and '<span class="note">off</span>' in page
    assert "<td>0.610</td>" in page and "<td>n/a</td>" in page
    assert "b" * 64 in page and 'href="card.json"' in page
    assert "Revoked (privacy)" in page and 'href="../../../index.html"' in page
