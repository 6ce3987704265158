"""Pipeline stages: plain functions taking typed values and returning typed results."""
