"""Foundations: errors, files, YAML, terminal output, thread budget, seeds and git.

No knowledge of synthetic data: every other wing may import these; they import no other wing.
"""
