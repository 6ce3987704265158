"""Reading releases: which tags are releases (and which only look like one, and why), their
status, what a reference names, and the manifest a release carries.

Nothing here writes: :mod:`sdops_dvc.registry.releases` makes releases and revocations, and
the privacy-budget ledger (:mod:`sdops_dvc.registry.budget`) reads its spends from here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from sdops_dvc.base.errors import ConfigError, ReleaseUnavailable
from sdops_dvc.base.scm import blob_at, git_cwd, repo_path
from sdops_dvc.base.yamlio import loads
from sdops_dvc.domain import layout as L
from sdops_dvc.domain.config import ApprovalsCfg
from sdops_dvc.domain.manifest import Manifest, compute_digest
from sdops_dvc.domain.records import JSON, RecordError, ReleaseRecord, RevocationRecord
from sdops_dvc.registry.tags import REF_RE, ParsedTag, Version, parse_tag

if TYPE_CHECKING:
    from git import Repo as GitRepo

KINDS = ("privacy", "schema", "utility", "other")
PROD = "prod"
SIGNATURES = (
    "-----BEGIN SSH SIGNATURE-----",
    "-----BEGIN PGP SIGNATURE-----",
)  # what a signed tag carries last
RETIRED = "retired"  # GTO stage a retired release is assigned to (NAME#retired#N)


class Status(StrEnum):
    """A release's status. ``current``: in service (the last release or rollback made it
    so); ``released``: live, not in service; ``revoked``: never served again; ``retired``:
    retention ended, its data deleted. Compares and serialises as its string."""

    CURRENT = "current"
    RELEASED = "released"
    REVOKED = "revoked"
    RETIRED = "retired"

    @property
    def live(self) -> bool:
        """Served: ``current`` or ``released``."""
        return self in (Status.CURRENT, Status.RELEASED)


@dataclass(frozen=True)
class Release:
    name: str
    version: Version
    tag: str
    commit: str
    status: Status
    record: ReleaseRecord
    revocation: RevocationRecord | None = None
    time: int = 0  # when the tag was made (seconds since the epoch; the tagger's date)
    # a signed tag whose signature and recorded approvals verify; False: unsigned by a
    # declared choice (release.sign_tags: false) or made before sdops signed releases, or its
    # approvals cannot be re-checked: listed as unverified, never served as current or latest
    verified: bool = True

    @property
    def live(self) -> bool:
        return self.status.live

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": str(self.version),
            "tag": self.tag,
            "commit": self.commit,
            "status": self.status,
            "released_at": self.record.released_at,
            "gate": self.record.gate.as_json(),
            "manifest_digest": self.record.manifest_digest,
            "approvals": [a.as_json() for a in self.record.approvals],
            "releaser": self.record.releaser,
            "verified": self.verified,
            "revocation": self.revocation.as_json() if self.revocation else None,
        }


def _record(message: str) -> JSON:
    for marker in SIGNATURES:
        message = message.split(marker, 1)[0]  # a signed tag carries its signature last
    _, _, body = message.partition("\n\n")
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class NotRelease:
    """A tag of a release's shape that is not a release, and why."""

    tag: str
    commit: str
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"tag": self.tag, "commit": self.commit, "reason": self.reason}


def _validate_register(repo: GitRepo, ref: Any, p: ParsedTag) -> tuple[ReleaseRecord, bool] | str:
    """The release record of a ``NAME@vX.Y.Z`` tag and whether it verifies, or why the tag is
    not a release.

    A release is an annotated tag carrying the release record, whose record names the tag's
    own commit, name and version, and whose manifest digest equals the digest of the manifest
    committed at that commit (recomputed, so an edited manifest does not match either); that
    manifest records an approved gate; the tag is signed by a key in the allowed signers at
    its commit; and the approvals it records verify again. An unsigned tag is a release only
    where ``release.sign_tags: false`` declared it (or an earlier sdops made it), unverified."""

    if ref.tag is None:
        return "a lightweight tag: releases are annotated tags made by `sdops release`"
    bad_signature = _signature_problem(repo, ref)
    if bad_signature:
        return bad_signature
    try:
        record = ReleaseRecord.from_json(_record(ref.tag.message or ""))
    except RecordError as exc:
        return str(exc)
    sha = ref.commit.hexsha
    if record.commit != sha:
        return f"its record names commit {record.commit[:10]}, the tag points at {sha[:10]}"
    if record.name != p.name or record.version != str(p.version):
        return "its record names another release"
    manifest = _manifest_at_commit(repo, ref.commit, p.name)
    if manifest is None:
        return f"no manifest of {p.name} is committed at its commit"
    try:
        actual = compute_digest(manifest.doc)
    except (TypeError, ValueError):
        return "the manifest at its commit cannot be hashed"
    if manifest.digest.value != actual:
        return "the manifest at its commit was edited after it was sealed"
    if record.manifest_digest != actual:
        return "its record's manifest digest differs from the manifest at its commit"
    if (manifest.doc.get("gates") or {}).get("approved") is not True:
        return "the manifest at its commit records a blocked gate: nothing there was released"
    checked = _approvals_verify(repo, ref, record)
    if isinstance(checked, str):
        return checked
    if tag_signed(ref.tag.message or ""):
        return record, checked
    legacy = record.governance is None  # made before sdops signed its release tags
    if legacy or _declared_unsigned(ref.commit, p.name):
        return record, False
    return (
        "the tag is not signed: `sdops release` signs release tags with a key in the allowed "
        "signers (release.sign_tags)"
    )


def _approvals_verify(repo: GitRepo, ref: Any, record: ReleaseRecord) -> bool | str:
    """Re-check the signed approvals the record lists, against the allowed signers they were
    verified with at release (the basis release's; at first use, the tagged commit's). True:
    all verify; False: they cannot be re-checked (the basis release's tag is gone); a string:
    one does not verify."""
    from sdops_dvc.registry.approvals import parse_identity, signer_of

    signed = [a for a in record.approvals if (a.method or "").startswith("ssh-signature")]
    if not signed:
        return True
    basis = (record.governance or {}).get("basis")
    at = ref.commit
    if basis:
        try:
            at = repo.commit(str(basis))
        except Exception:  # the basis release's tag is gone: nothing to re-check against
            return False
    signers = git_file(at, ALLOWED_SIGNERS)
    for a in signed:
        if not a.commit or signer_of(git_cwd(repo), a.commit, signers) != parse_identity(a.by)[1]:
            return (
                f"its recorded approval by {a.by} ({(a.commit or '?')[:10]}) does not verify against "
                f"the allowed signers it was checked with"
            )
    return True


def params_beside_manifests(commit: Any) -> list[tuple[str, str]]:
    """(path, text) of the params.yaml beside each manifest committed at ``commit`` (as
    :func:`_manifest_at_commit` finds manifests): the rules a release was made under."""
    out = []
    for rel in _manifest_paths(commit):
        top = _pipeline_dir(rel)
        path = f"{top}/params.yaml" if top else "params.yaml"
        raw = blob_at(commit, path)
        try:
            text = raw.decode("utf-8") if raw is not None else None
        except UnicodeDecodeError:
            continue  # not a params file sdops wrote: no rules to read from it
        if text is not None:
            out.append((path, text))
    return out


def _declared_unsigned(commit: Any, name: str) -> bool:
    """The params.yaml of release ``name`` at ``commit`` declares ``release.sign_tags: false``."""

    for path, text in params_beside_manifests(commit):
        try:
            data = loads(text, path)
        except ConfigError:
            continue
        if not isinstance(data, dict) or (data.get("dataset") or {}).get("name") != name:
            continue
        return (data.get("release") or {}).get("sign_tags") is False
    return False


ALLOWED_SIGNERS = str(ApprovalsCfg.model_fields["allowed_signers"].default)


def tag_signed(message: str) -> bool:
    """An annotated tag's message carries a signature (SSH or PGP)."""
    return any(marker in message for marker in SIGNATURES)


def _signature_problem(repo: GitRepo, ref: Any) -> str | None:
    """A signed tag must verify: SSH signatures against the allowed-signers file committed at
    the tagged commit, PGP ones against the keyring git uses. Unsigned tags pass here."""
    if not tag_signed(ref.tag.message or ""):
        return None
    if tag_verifies(repo, ref.name, ref.commit):
        return None
    return "the tag is signed, but its signature does not verify against the allowed signers"


def tag_verifies(repo: GitRepo, tag: str, commit: Any) -> bool:
    """``git verify-tag TAG`` (a name or an object id) against the allowed signers committed
    at ``commit``, the tagged commit: how readers check a release tag, and how ``sdops
    release`` checks its own before pushing it."""
    from sdops_dvc.registry.approvals import verify_signed

    signers = git_file(commit, ALLOWED_SIGNERS) or ""
    return verify_signed(git_cwd(repo), signers, "verify-tag", tag).returncode == 0


def scan(repo: GitRepo, name: str | None = None) -> tuple[list[Release], list[NotRelease]]:
    """Every release in the repository, oldest first, with its status; and the tags of a
    release's shape that are not releases, with the reason."""
    parsed: list[tuple[Any, ParsedTag]] = []
    for ref in repo.tags:
        p = parse_tag(ref.name)
        if p and (name is None or p.name == name):
            parsed.append((ref, p))
    revoked = {
        (p.name, p.version): RevocationRecord.from_json(
            _record(ref.tag.message if ref.tag else ""), f"{p.name}@{p.version}"
        )
        for ref, p in parsed
        if p.action == "deregister"
    }
    retired_at = {
        (p.name, ref.commit.hexsha): _record(ref.tag.message if ref.tag else "")
        for ref, p in parsed
        if p.action == "assign" and p.stage == RETIRED
    }
    out: list[Release] = []
    rejected: list[NotRelease] = []
    for ref, p in parsed:
        if p.action != "register" or p.version is None:
            continue
        checked = _validate_register(repo, ref, p)
        if isinstance(checked, str):
            rejected.append(NotRelease(ref.name, ref.commit.hexsha, checked))
            continue
        record, verified = checked
        status = Status.REVOKED if (p.name, p.version) in revoked else Status.RELEASED
        if (p.name, ref.commit.hexsha) in retired_at:
            status = Status.RETIRED
        out.append(
            Release(
                p.name,
                p.version,
                ref.name,
                ref.commit.hexsha,
                status,
                record,
                revoked.get((p.name, p.version)),
                int(ref.tag.tagged_date),
                verified,
            )
        )
    out.sort(key=lambda r: (r.name, r.version))
    out = _first_of_each_commit(out, rejected)
    current = _current(out, parsed, rejected)
    rels = [replace(r, status=Status.CURRENT) if current.get(r.name) is r else r for r in out]
    return rels, rejected


def _first_of_each_commit(out: list[Release], rejected: list[NotRelease]) -> list[Release]:
    """`sdops release` never releases a commit twice while its release is live: a later tag
    at the same commit is a copy of the record, not a release (appended to ``rejected``)."""
    first: dict[tuple[str, str], str] = {}
    kept: list[Release] = []
    for r in out:
        earlier = first.get((r.name, r.commit))
        if earlier is not None:
            rejected.append(
                NotRelease(r.tag, r.commit, f"its commit is already released as {earlier}")
            )
            continue
        if r.status != Status.REVOKED:
            first[(r.name, r.commit)] = r.tag
        kept.append(r)
    return kept


def _current(
    out: list[Release], parsed: list[tuple[Any, ParsedTag]], rejected: list[NotRelease]
) -> dict[str, Release]:
    """Per name, the release the last release or rollback made current: events (a release's
    tag, a rollback's GTO assignment ``NAME#prod#N``) newest first by tag time, the first one
    whose release is still live. A revoked or retired current release gives way to the one
    that was current before it."""
    events: list[tuple[int, int, int, str, str]] = []  # (time, kind, order, name, commit)
    for i, r in enumerate(out):  # out is in version order: the newer wins a tie in time
        events.append((r.time, 0, i, r.name, r.commit))
    for ref, p in parsed:
        if p.action != "assign" or p.stage != PROD or p.counter is None:
            continue
        if ref.tag is None:
            rejected.append(NotRelease(ref.name, ref.commit.hexsha, "a lightweight assignment tag"))
            continue
        events.append((int(ref.tag.tagged_date), 1, p.counter, p.name, ref.commit.hexsha))
    live = {(r.name, r.commit): r for r in out if r.status == Status.RELEASED and r.verified}
    current: dict[str, Release] = {}
    for _, _, _, name, commit in sorted(events, reverse=True):
        if name not in current and (name, commit) in live:
            current[name] = live[(name, commit)]
    return current


def releases(repo: GitRepo, name: str | None = None) -> list[Release]:
    """Every release in the repository, oldest first, with its status."""
    return scan(repo, name)[0]


REFERENCE_HINT = "use NAME@vX.Y.Z, NAME@current (or NAME, NAME#prod) or NAME@latest"


def parse_reference(ref: str) -> tuple[str, str]:
    """(name, which) of a release reference; which is ``current``, ``latest`` or a version
    ``vX.Y.Z``. ``NAME`` and ``NAME#prod`` (GTO's stage) mean ``current``; ``1.1.0`` = ``v1.1.0``."""
    m = REF_RE.match(ref.strip())
    if m:
        which = m["which"] or "current"
        if which not in ("current", "latest"):
            which = "v" + which.removeprefix("v")
        return m["name"], which
    p = parse_tag(ref.strip())
    if p is not None and p.action == "register" and p.version is not None:
        return p.name, str(p.version)
    raise ReleaseUnavailable(f"{ref!r} is not a release reference", hint=REFERENCE_HINT)


def resolve(repo: GitRepo, ref: str, *, live_only: bool = True) -> Release:
    """A release by reference (:func:`parse_reference`): ``current`` is the release the last
    release or rollback made current, ``latest`` the newest live version."""
    name, which = parse_reference(ref)
    known, rejected = scan(repo, name)
    for bad in rejected:
        if bad.tag == f"{name}@{which}":
            raise ReleaseUnavailable(
                f"{bad.tag} is not a release: {bad.reason}", hint="see `sdops list`"
            )
    if not known:
        raise ReleaseUnavailable(f"there is no release of {name!r}", hint="see `sdops list`")
    if which in ("latest", "current"):
        live = [r for r in known if r.live]
        if not live:
            raise ReleaseUnavailable(f"every release of {name!r} is revoked or retired")
        trusted = [r for r in live if r.verified]
        if not trusted:
            raise ReleaseUnavailable(
                f"no release of {name!r} verifies (unsigned or unverifiable tags are never "
                "served as current or latest)",
                hint="name a version to fetch an unverified release on purpose; see `sdops list`",
            )
        if which == "latest":
            return trusted[-1]
        return next(r for r in trusted if r.status == Status.CURRENT)
    wanted = Version.parse(which)
    for r in known:
        if r.version == wanted:
            if live_only and r.status == Status.RETIRED:
                raise ReleaseUnavailable(
                    f"{r.tag} was retired (retention expired); its data was deleted",
                    hint=f"use {name}@current for the release in service",
                )
            if live_only and r.status == Status.REVOKED:
                rev = r.revocation or RevocationRecord.from_json({}, r.tag)
                raise ReleaseUnavailable(
                    f"{r.tag} was revoked ({rev.kind}): {rev.reason or 'no reason recorded'}",
                    hint=f"use {name}@current for the release in service",
                )
            return r
    raise ReleaseUnavailable(f"{name} has no version {which}", hint="see `sdops list`")


def actor(repo: GitRepo) -> str:
    """Who acts: git's configured identity (as `git config` resolves it, env included)."""
    import git

    def value(key: str) -> str:
        try:
            return str(repo.git.config("--get", key)).strip()
        except git.GitCommandError:
            return "unknown"

    return f"{value('user.name')} <{value('user.email')}>"


def git_file(commit: Any, rel: str) -> str | None:
    """The text of ``rel`` committed at ``commit`` (None when it is not there)."""
    raw = blob_at(commit, rel)
    return raw.decode("utf-8") if raw is not None else None


def _manifest(text: str | None) -> Manifest | None:
    """A committed manifest, read; None when there is none or it is no manifest (a release
    whose manifest does not read is refused by :func:`scan`, so this is not silent)."""
    if not text:
        return None
    try:
        return Manifest.parse(json.loads(text))
    except (json.JSONDecodeError, RecordError, TypeError, ValueError):
        return None


def manifest_at(repo: GitRepo, rev: str, root: Path) -> Manifest | None:
    commit = repo.commit(rev)
    rel = repo_path(repo, root / L.MANIFEST)
    return _manifest(git_file(commit, rel))


def release_manifest(repo: GitRepo, rel: Release, root: Path | None = None) -> Manifest | None:
    """A release's manifest: at ``root``'s pipeline in a work tree, or, in a bare repository
    (``root`` None), wherever the release's pipeline sits."""
    if root is not None and repo.working_tree_dir is not None:
        found = manifest_at(repo, rel.tag, root)
        if found is not None:
            return found
    return _manifest_at_commit(repo, repo.commit(rel.tag), rel.name)


def _manifest_at_commit(repo: GitRepo, commit: Any, name: str) -> Manifest | None:
    """The manifest of release ``name`` committed at ``commit``, wherever its pipeline sits
    in the repository (the top, or a subdirectory; several pipelines may share a repo)."""
    found = pipeline_at(commit, name)
    return found[1] if found else None


def pipeline_at(commit: Any, name: str) -> tuple[str, Manifest] | None:
    """(the pipeline's directory in the repository, "" for the top; its manifest) of release
    ``name`` at ``commit``."""
    for rel in _manifest_paths(commit):
        found = _manifest(git_file(commit, rel))
        if found is not None and found.name == name:
            return _pipeline_dir(rel), found
    return None


def _pipeline_dir(manifest_path: str) -> str:
    """The pipeline's directory in the repository ("" for the top) from its manifest's path."""
    top = str(PurePosixPath(manifest_path).parent.parent)
    return "" if top == "." else top


def _manifest_paths(commit: Any) -> list[str]:
    """Where manifests sit in ``commit``: the top pipeline's, else every pipeline's below."""
    try:
        commit.tree / L.MANIFEST
        return [L.MANIFEST]
    except KeyError:
        names = [b.path for b in commit.tree.traverse() if getattr(b, "type", "") == "blob"]
        return sorted(n for n in names if n.endswith("/" + L.MANIFEST))
