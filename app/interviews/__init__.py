"""Testimony: interviews, transcript versions, speaker turns, identifier review and blind search."""
