"""Project setup: ``sdops init`` and ``snapshot`` (project), the files init writes
(templates), the pinned requirements of a user's CI, and the demo.
"""
