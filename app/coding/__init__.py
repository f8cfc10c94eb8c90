"""Coding: the codebook, span codings, double coding with agreement, adjudication, reports, REFI-QDA."""
