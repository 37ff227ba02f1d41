"""The data map: one YAML file describing controller, purposes, recipients, holds and sources.

schema.py is the validated document, parsing.py reads the file, lineage.py says which purposes and
recipients apply to which data, loading.py stores versions, selectors.py reads the active one.
"""
