"""Metric families: one module per family (fidelity, learning, distance, privacy,
anonymity, schema, subgroup, policy)."""
