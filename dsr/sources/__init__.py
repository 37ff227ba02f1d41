"""Data sources: the connector contract (base.py), one folder per connector kind, and the registry of kinds."""
