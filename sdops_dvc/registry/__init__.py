"""Releases as git tags in GTO's format: grammar, release, browse, revoke, resolve."""
