"""Tests of the exports: registry, safe writers, the CLI and the download routes."""
