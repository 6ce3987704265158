"""Approvals that prove who approved what.

With the ``git`` provider an approval is a commit carrying an ``Approved-by:`` (or
``Reviewed-by:``) trailer. It counts as **verified** when that commit is signed with an SSH
key that the repository's allowed-signers file (git's ``gpg.ssh.allowedSignersFile``
format, committed and owned in CODEOWNERS) gives to the approver named in the trailer. The
policy and the file are the last release's (:class:`Basis`), so a change cannot add the key
that approves it nor rewrite the rules it is judged by; only a repository's first release
trusts the file at HEAD, and records its approvals as trust on first use, never as verified.
Unsigned trailers are listed as unverified and count only with ``allow_unverified: true``.

An approval binds to content: it approves the tree of its own commit (or of the commit an
``Approves: SHA`` trailer names). Any later change before the release voids it, naming the
changed files. With ``forbid_self_approval`` (the default) an approver who authored any of the
approved changes does not count: four eyes. Who made a change is read from its signature, not
from the self-declared author field: with four eyes enforced (and ``allow_unverified`` off),
every change commit must be signed by a key in the allowed-signers file, and an approver who
authored, committed or signed any of them does not count. Forge providers (github, gitlab) apply the same
two rules to reviews: the review must be of the pull request's final commit, by someone
other than its author (:mod:`sdops_dvc.registry.hosted`).
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sdops_dvc.base.scm import blob_at, git as _git, git_cwd, message, trailers
from sdops_dvc.domain.config import ApprovalsCfg
from sdops_dvc.domain.records import ApprovalRecord

if TYPE_CHECKING:
    from git import Repo as GitRepo

APPROVAL_TRAILERS = ("approved-by", "reviewed-by")
SHA = re.compile(r"[0-9a-f]{7,40}", re.IGNORECASE)  # what an `Approves:` trailer names
GOOD_SIG = re.compile(r'Good "git" signature for (\S+) with')


@dataclass(frozen=True)
class Basis:
    """What a release's approvals are judged by (issue 25: nothing the releaser writes in the
    candidate commit decides whether it is trusted)."""

    cfg: ApprovalsCfg  # the approvals policy in force: the last release's (HEAD's at first use)
    since: str | None  # approvals count from the commit after this one (the last release)
    since_tag: str | None
    signers_rev: str | None  # where the allowed-signers file is read; None: HEAD, first use
    signers_tag: str | None  # the release that commit is

    @property
    def first_use(self) -> bool:
        """The repository's first release: nothing earlier can vouch for the signers file."""
        return self.signers_rev is None


@dataclass(frozen=True)
class Collected:
    """What the approvals check found: counted approvals, refusals, and notes for the record."""

    approvals: list[ApprovalRecord] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # approvals seen but not counted, and why


def parse_identity(text: str) -> tuple[str, str]:
    """(name, email) of ``Name <email>``; a bare value stands for both."""
    a = text.strip().lower()
    m = re.match(r"^(.*?)\s*<([^>]+)>$", a)
    return (m.group(1).strip(), m.group(2).strip()) if m else (a, a)


def matches(holder: str, approver: str) -> bool:
    h = holder.strip().lower()
    name, email = parse_identity(approver)
    return h in (approver.strip().lower(), name, email)


def verify_signed(cwd: str, allowed_signers: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``git verify-commit``/``verify-tag ARGS`` against an allowed-signers file's text."""
    fd, path = tempfile.mkstemp(prefix="sdops-signers-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(allowed_signers)
        return _git(cwd, "-c", "gpg.format=ssh", "-c", f"gpg.ssh.allowedSignersFile={path}", *args)
    finally:
        os.unlink(path)


def signer_of(cwd: str, sha: str, allowed_signers: str | None) -> str | None:
    """The principal (email) whose allowed key signed ``sha``, or None when unsigned or the
    key is not in ``allowed_signers`` (the file's text)."""
    if not allowed_signers:
        return None
    proc = verify_signed(cwd, allowed_signers, "verify-commit", "--raw", sha)
    m = GOOD_SIG.search(proc.stderr + proc.stdout)
    return m.group(1).lower() if proc.returncode == 0 and m else None


def collected(
    found: list[ApprovalRecord],
    problems: list[str],
    ignored: list[str],
    notes: list[str] | None = None,
) -> Collected:
    """The result of a provider: when a role lacks an approval, say what was not counted."""
    if problems:
        problems = problems + [f"approvals: not counted: {i}" for i in ignored]
    return Collected(found, problems, list(notes or []), ignored)


def _file_at(repo: GitRepo, rev: str, path: str) -> str | None:
    raw = blob_at(repo.commit(rev), path)
    try:
        return raw.decode("utf-8") if raw is not None else None
    except UnicodeDecodeError:
        return None


def _changed(repo: GitRepo, a: str, b: str) -> list[str]:
    out = _git(git_cwd(repo), "diff", "--name-only", a, b).stdout
    return [line for line in out.splitlines() if line.strip()]


def signers_of(repo: GitRepo, basis: Basis) -> tuple[str | None, list[str]]:
    """The allowed-signers text that verifies this release's signatures, and notes for the
    record: the file at the basis release, or at HEAD on a repository's first release."""
    path = basis.cfg.allowed_signers
    if basis.signers_rev is not None:
        text = _file_at(repo, basis.signers_rev, path)
        notes = [
            f"signatures verified against {path} as it was at {basis.signers_tag} (a change "
            "cannot add the key that approves it)"
        ]
        if text is not None and _file_at(repo, "HEAD", path) != text:
            notes.append(
                f"{path} changed since {basis.signers_tag}: the change takes effect "
                "at the next release"
            )
        return text, notes
    text = _file_at(repo, "HEAD", path)
    if text is None:
        return None, []
    return text, [
        f"the repository's first release: signatures checked against {path} at HEAD, which "
        "nothing earlier vouches for (trust on first use, recorded as not verified)"
    ]


def _change_authors(
    cwd: str, commits: list[Any], signers: str | None
) -> tuple[dict[str, str], list[str]]:
    """Who made the changes being approved (commits that change the tree; merges excluded):
    identity -> a commit of theirs, from the author, the committer and the signing key; and
    the change commits no allowed key signed."""
    authors: dict[str, str] = {}
    unsigned: list[str] = []
    for c in commits:
        if len(c.parents) > 1:
            continue
        parent_tree = c.parents[0].tree.hexsha if c.parents else None
        if parent_tree == c.tree.hexsha:
            continue
        for who in ((c.author.email or "").lower(), (c.committer.email or "").lower()):
            authors.setdefault(who, c.hexsha)
        principal = signer_of(cwd, c.hexsha, signers)
        if principal is None:
            unsigned.append(c.hexsha)
        else:
            authors.setdefault(principal, c.hexsha)
    return authors, unsigned


def collect_git(repo: GitRepo, basis: Basis) -> Collected:
    """Approvals as commit trailers since the governing release, each counted only when its
    commit is signed by the approver's key in the governing allowed-signers file, the content
    has not changed since the commit it approves, and (forbid_self_approval) the approver
    made no change; the roles left without a counted approval are the problems."""
    since = basis.since
    cwd = git_cwd(repo)
    head = repo.head.commit
    commits = list(repo.iter_commits(f"{since}..HEAD" if since else "HEAD"))
    signers, notes = signers_of(repo, basis)
    authors, unsigned = _change_authors(cwd, commits, signers)
    found: list[ApprovalRecord] = []
    ignored: list[str] = []
    for commit in commits:
        text = message(commit)
        approvers = [who for _, who in trailers(text, *APPROVAL_TRAILERS)]
        if not approvers:
            continue
        principal = signer_of(cwd, commit.hexsha, signers)
        named = next((v for _, v in trailers(text, "approves") if SHA.fullmatch(v)), None)
        approved = commit.hexsha
        if named:
            try:
                approved = repo.commit(named).hexsha
            except Exception:  # an unknown sha: nothing is approved
                ignored.append(f"{commit.hexsha[:10]}: `Approves: {named}` names no commit")
                continue
        changed = (
            []
            if repo.commit(approved).tree.hexsha == head.tree.hexsha
            else _changed(repo, approved, "HEAD")
        )
        for approver in approvers:
            counted = _count_approval(basis, commit.hexsha, approver, principal, changed, authors)
            if isinstance(counted, str):
                ignored.append(counted)
            else:
                found += counted
    problems = _missing_approvals(basis, len(commits), found, unsigned, bool(signers))
    return collected(found, problems, ignored, notes)


def _count_approval(
    basis: Basis,
    sha: str,
    approver: str,
    principal: str | None,
    changed: list[str],
    authors: dict[str, str],
) -> list[ApprovalRecord] | str:
    """One approver's trailer in commit ``sha`` (signed by ``principal``): an approval per
    role they hold, or why it does not count (no roles: nothing)."""
    cfg = basis.cfg
    roles = [r for r, holders in cfg.roles.items() if any(matches(h, approver) for h in holders)]
    if not roles:
        return []
    who = f"{approver} in {sha[:10]}"
    _, email = parse_identity(approver)
    verified = principal is not None and principal == email
    if not verified and not cfg.allow_unverified:
        why = (
            f"the commit is not signed by a key of theirs in {cfg.allowed_signers}"
            if principal is None
            else f"the commit is signed by {principal}, not by them"
        )
        return f"{who}: unverified ({why}); set allow_unverified: true to count it"
    if changed:
        shown = ", ".join(changed[:6]) + (" ..." if len(changed) > 6 else "")
        return f"{who}: void, the content changed after it ({shown})"
    identity = principal if verified else email
    if cfg.forbid_self_approval and identity in authors:
        return (
            f"{who}: self-approval, they authored, committed or signed "
            f"{authors[identity][:10]} (forbid_self_approval)"
        )
    method = "ssh-signature" if verified else "trailer (unverified)"
    if verified and basis.first_use:
        method, verified = "ssh-signature (trust on first use)", False
    return [ApprovalRecord(role, approver, sha, verified, method) for role in roles]


def _missing_approvals(
    basis: Basis, n_commits: int, found: list[ApprovalRecord], unsigned: list[str], signers: bool
) -> list[str]:
    """Each role without a counted approval, unsigned change commits where four eyes need
    signatures, and a missing allowed-signers file."""
    cfg = basis.cfg
    problems = [
        f"approvals: no counted approval from the {role!r} role ({', '.join(holders)}) on the "
        f"{n_commits} commit(s) since {basis.since_tag or 'the first commit'}"
        for role, holders in cfg.roles.items()
        if not any(a.role == role for a in found)
    ]
    four_eyes = cfg.forbid_self_approval and not cfg.allow_unverified
    if four_eyes and unsigned:
        shown = ", ".join(sha[:10] for sha in unsigned[:5]) + (" ..." if len(unsigned) > 5 else "")
        problems.append(
            f"approvals: {len(unsigned)} change commit(s) are not signed by a key in "
            f"{cfg.allowed_signers} ({shown}): with forbid_self_approval the git provider "
            "knows who made a change only by its signature (the author field is self-declared). "
            "Sign commits (`git config commit.gpgsign true`, gpg.format ssh) with a key listed "
            "there, or use a forge provider (release.approvals.provider: github or gitlab)"
        )
    if problems and not signers and not cfg.allow_unverified:
        where = f"at {basis.signers_tag}" if basis.signers_tag else "at HEAD"
        problems.append(
            f"approvals: {cfg.allowed_signers} does not exist {where}, so no signature can be "
            "verified: commit it (one line per signer: EMAIL ssh-ed25519 KEY) and own it in "
            "CODEOWNERS"
        )
    return problems
