"""Consent: what a person agreed to, and withdrawal in full or in part, cascading through derived material."""
