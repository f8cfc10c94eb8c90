"""Harbour: secure interview and testimony management for research on transnational repression."""

__version__ = "0.1.0"
