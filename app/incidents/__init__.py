"""Incidents: mentions drafted from codings, incidents clustered from mentions, family reprisals, views."""
