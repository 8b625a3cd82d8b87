"""Producers of cluster descriptions from what already exists: an HA-Lizard
configuration (``halizard``) or a live pool read through XAPI (``discover``).
Each returns description data that :mod:`xenha.model` then checks."""
