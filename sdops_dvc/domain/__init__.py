"""The domain model: params, the metric table, layouts and table sets, relationships,
metadata, the source lineage, the release records, the manifest and the privacy budget.

Typed values and pure rules; no pipeline stage, no registry, no click.
"""
