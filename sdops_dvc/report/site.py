"""The release catalog as a static site: plain HTML with inline CSS and SVG, no script, no
server, no network. Built by ``sdops catalog`` from what
:mod:`sdops_dvc.registry.site` reads; this module only renders the values it is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Any

from sdops_dvc.report import svg

TRENDS = (  # (metric, title, the gate threshold's key in the manifest's thresholds)
    ("quality.detection_auc", "detection AUC", ("quality", "max_detection_auc")),
    ("quality.column_shapes", "column shapes", ("quality", "min_column_shapes")),
    ("utility.ratio", "TSTR / TRTR", ("quality", "min_utility_ratio")),
    ("privacy.dcr_share", "DCR share", ("privacy", "max_dcr_share")),
    ("privacy.mia_auc", "membership-inference AUC", ("privacy", "max_mia_auc")),
)
KEY_METRICS = tuple(m for m, _, _ in TRENDS)
_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ddd}h3{margin-top:1.4em}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ddd;padding:3px 7px;
text-align:left;vertical-align:top}th{background:#f4f4f4}code{font-size:12px}
.status{padding:1px 6px;border-radius:3px;font-size:12px;color:#fff}
.current{background:#2b7a2b}.released{background:#4c72b0}.revoked{background:#b22}
.retired{background:#777}.unverified{background:#c80}.pass{color:#2b7a2b}.fail{color:#b22}
.trends svg{margin:0 1em 1em 0}.note{color:#666}
"""


@dataclass(frozen=True)
class ReleaseView:
    tag: str
    name: str
    version: str
    status: str
    verified: bool
    released_at: str
    releaser: str
    commit: str
    gates: dict[str, bool | None]
    metrics: dict[str, float | None]
    approvals: list[str]
    regenerated: bool
    spend: str
    budget_scope: str | None
    revocation: dict[str, Any] | None
    evidence: dict[str, dict[str, str]]  # file name -> digests the signed tag pins
    files: dict[str, str] = field(default_factory=dict)  # label -> href in the site
    notes: list[str] = field(default_factory=list)

    @property
    def page(self) -> str:
        return f"releases/{self.name}/{self.version}/index.html"


@dataclass(frozen=True)
class BudgetView:
    scope: str
    cap_epsilon: float | None
    cap_delta: float | None
    spends: list[tuple[str, str, str]]  # (tag, status, spend)
    spent_epsilon: float | None
    remaining_epsilon: float | None


@dataclass(frozen=True)
class DatasetView:
    name: str
    releases: list[ReleaseView]
    thresholds: dict[str, dict[str, Any]]
    monitoring: list[dict[str, Any]]
    consumers: list[tuple[str, str, str]]  # (name, contact, pinned version)
    incidents: list[tuple[str, str]]  # (title, href)


@dataclass(frozen=True)
class Site:
    title: str
    origin: str | None
    head: str
    datasets: list[DatasetView]
    budgets: list[BudgetView]
    not_releases: list[tuple[str, str]]


def _page(title: str, body: list[str], depth: int = 0) -> str:
    home = "../" * depth + "index.html"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f'<p class="note"><a href="{home}">release catalog</a></p>'
        + "\n".join(body)
        + "</body></html>\n"
    )


def _badge(r: ReleaseView) -> str:
    out = f'<span class="status {escape(r.status)}">{escape(r.status)}</span>'
    if not r.verified:
        out += ' <span class="status unverified">unverified</span>'
    return out


def _verdict(passed: bool | None) -> str:
    if passed is None:
        return '<span class="note">off</span>'
    return '<span class="pass">pass</span>' if passed else '<span class="fail">FAIL</span>'


def _num(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def _trends(d: DatasetView) -> str:
    charts = []
    for metric, title, (gate, key) in TRENDS:
        points = [
            (r.version, r.metrics.get(metric), r.status in ("current", "released"))
            for r in d.releases
        ]
        if all(v is None for _, v, _ in points):
            continue
        limit = (d.thresholds.get(gate) or {}).get(key)
        charts.append(svg.trend(title, points, limit if isinstance(limit, (int, float)) else None))
    return '<div class="trends">' + "".join(charts) + "</div>"


def _releases_table(d: DatasetView) -> list[str]:
    gates = sorted({g for r in d.releases for g in r.gates})
    head = "".join(f"<th>{escape(g)}</th>" for g in gates)
    heads = "".join(f"<th>{escape(t)}</th>" for _, t, _ in TRENDS)
    rows = [
        f'<table class="releases"><tr><th>version</th><th>status</th><th>released</th>{head}'
        f"{heads}<th>privacy spend</th></tr>"
    ]
    for r in reversed(d.releases):
        cells = "".join(f"<td>{_verdict(r.gates.get(g))}</td>" for g in gates)
        nums = "".join(f"<td>{_num(r.metrics.get(m))}</td>" for m in KEY_METRICS)
        rows.append(
            f'<tr data-tag="{escape(r.tag)}" data-status="{escape(r.status)}">'
            f'<td><a href="{escape(r.page)}">{escape(r.version)}</a></td><td>{_badge(r)}</td>'
            f"<td>{escape(r.released_at[:10])}</td>{cells}{nums}<td>{escape(r.spend)}</td></tr>"
        )
    rows.append("</table>")
    return rows


def _revocations(d: DatasetView) -> list[str]:
    revoked = [r for r in d.releases if r.revocation]
    if not revoked:
        return []
    out = [
        "<h3>Revocations</h3>",
        '<table class="revocations"><tr><th>release</th><th>kind</th>'
        "<th>reason</th><th>by</th><th>when</th></tr>",
    ]
    for r in revoked:
        rv = r.revocation or {}
        out.append(
            f"<tr><td>{escape(r.tag)}</td><td>{escape(str(rv.get('kind')))}</td>"
            f"<td>{escape(str(rv.get('reason')))}</td><td>{escape(str(rv.get('actor')))}</td>"
            f"<td>{escape(str(rv.get('revoked_at'))[:19])}</td></tr>"
        )
    return [*out, "</table>"]


def _monitoring(d: DatasetView) -> list[str]:
    if not d.monitoring:
        return ["<h3>Monitoring</h3>", '<p class="note">no monitoring runs committed</p>']
    out = [
        "<h3>Monitoring</h3>",
        '<table class="monitoring"><tr><th>checked</th><th>release'
        "</th><th>status</th><th>findings</th></tr>",
    ]
    for m in d.monitoring:
        findings = "; ".join(str(f.get("what")) for f in m.get("findings") or [])
        out.append(
            f"<tr><td>{escape(str(m.get('checked_at'))[:19])}</td><td>{escape(str(m.get('release')))}"
            f"</td><td>{escape(str(m.get('status')))}</td><td>{escape(findings) or 'none'}</td></tr>"
        )
    return [*out, "</table>"]


def _people(d: DatasetView) -> list[str]:
    out = ["<h3>Consumers</h3>"]
    if d.consumers:
        out.append("<table><tr><th>consumer</th><th>contact</th><th>pinned to</th></tr>")
        out += [
            f"<tr><td>{escape(n)}</td><td>{escape(c)}</td><td>{escape(v)}</td></tr>"
            for n, c, v in d.consumers
        ]
        out.append("</table>")
    else:
        out.append('<p class="note">no consumers registered in consumers.yaml</p>')
    out.append("<h3>Incidents</h3>")
    if d.incidents:
        out.append(
            "<ul>"
            + "".join(f'<li><a href="{escape(h)}">{escape(t)}</a></li>' for t, h in d.incidents)
            + "</ul>"
        )
    else:
        out.append('<p class="note">no incident reports</p>')
    return out


def _budgets(site: Site) -> list[str]:
    out = ['<h2 id="budget">Privacy budget</h2>']
    if not site.budgets:
        return [*out, '<p class="note">no release records a budget</p>']
    for b in site.budgets:
        cap = (
            "no cap"
            if b.cap_epsilon is None
            else f"cap epsilon {b.cap_epsilon:g} at delta {b.cap_delta:g}"
        )
        spent = "" if b.spent_epsilon is None else f"; spent epsilon {b.spent_epsilon:.4g}"
        left = (
            "" if b.remaining_epsilon is None else f"; remaining epsilon {b.remaining_epsilon:.4g}"
        )
        out.append(f'<h3 class="budget">lineage <code>{escape(b.scope[:23])}</code></h3>')
        out.append(f'<p class="budget-standing">{escape(cap + spent + left)}</p>')
        out.append("<table><tr><th>release</th><th>status</th><th>spend</th></tr>")
        out += [
            f"<tr><td>{escape(t)}</td><td>{escape(s)}</td><td>{escape(sp)}</td></tr>"
            for t, s, sp in b.spends
        ]
        out.append("</table>")
    return out


def index(site: Site) -> str:
    body = [
        f"<h1>{escape(site.title)}</h1>",
        f'<p class="note">from {escape(site.origin or "a local repository")} at commit '
        f"<code>{escape(site.head[:12])}</code>; every release is a signed git tag: check one "
        "with <code>sdops verify NAME@vX.Y.Z --signature</code></p>",
        "<table><tr><th>dataset</th><th>in service</th><th>releases</th></tr>",
    ]
    for d in site.datasets:
        cur = next((r.version for r in d.releases if r.status == "current"), "none")
        body.append(
            f'<tr><td><a href="#{escape(d.name)}">{escape(d.name)}</a></td><td>{escape(cur)}</td>'
            f"<td>{len(d.releases)}</td></tr>"
        )
    body.append("</table>")
    for d in site.datasets:
        body += [f'<h2 id="{escape(d.name)}">{escape(d.name)}</h2>', _trends(d)]
        body += _releases_table(d) + _revocations(d) + _monitoring(d) + _people(d)
    body += _budgets(site)
    if site.not_releases:
        body.append("<h2>Tags that are not releases</h2><ul>")
        body += [
            f"<li><code>{escape(t)}</code>: {escape(why)}</li>" for t, why in site.not_releases
        ]
        body.append("</ul>")
    return _page(site.title, body)


def release_page(r: ReleaseView) -> str:
    rows = [
        ("status", _badge(r)),
        ("commit", f"<code>{escape(r.commit)}</code>"),
        ("released", escape(r.released_at)),
        ("releaser", escape(r.releaser)),
        ("approvals", escape("; ".join(r.approvals)) or "none"),
        ("regenerated before tagging", "yes" if r.regenerated else "no (UNPROVEN)"),
        ("privacy spend", escape(r.spend)),
    ]
    body = [f"<h1>{escape(r.tag)}</h1>", "<table>"]
    body += [f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows]
    body.append("</table><h2>Gates and metrics</h2><table>")
    body += [
        f"<tr><th>{escape(g)} gate</th><td>{_verdict(v)}</td></tr>"
        for g, v in sorted(r.gates.items())
    ]
    body += [
        f"<tr><th>{escape(m)}</th><td>{_num(v)}</td></tr>" for m, v in sorted(r.metrics.items())
    ]
    body.append("</table>")
    if r.revocation:
        rv = r.revocation
        body.append(
            f'<p class="revoked">Revoked ({escape(str(rv.get("kind")))}): '
            f"{escape(str(rv.get('reason')))}</p>"
        )
    body.append("<h2>Evidence</h2><ul>")
    body += [f'<li><a href="{escape(h)}">{escape(label)}</a></li>' for label, h in r.files.items()]
    body.append("</ul><table><tr><th>file</th><th>sha256 in the signed tag</th></tr>")
    body += [
        f"<tr><td>{escape(n)}</td><td><code>{escape(d.get('sha256', ''))}</code></td></tr>"
        for n, d in sorted(r.evidence.items())
    ]
    body.append("</table>")
    body += [f'<p class="note">{escape(n)}</p>' for n in r.notes]
    return _page(r.tag, body, depth=3)


def render(site: Site) -> dict[str, str]:
    """Every page of the site by its path in the site."""
    pages = {"index.html": index(site)}
    for d in site.datasets:
        for r in d.releases:
            pages[r.page] = release_page(r)
    return pages
