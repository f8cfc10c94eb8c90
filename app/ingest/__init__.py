"""Turning uploaded transcripts into normalised speaker turns, pseudonymised text and search tokens.

Pure functions over bytes and strings: no database, no disk, no settings. `formats.parse` reads a file,
`pseudonymise.pseudonymise` replaces the names of linked people and flags contact details, `tokens` makes
the blind search tokens. The interviews domain calls them (parsing in a worker thread, never on the loop).
"""
