"""sdops-dvc: governed, reproducible synthetic-data releases on DVC, git and SDV."""

__version__ = "0.1.0"
