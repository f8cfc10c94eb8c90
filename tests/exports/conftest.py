"""Fixtures shared with the coding report tests: a project with an approved, double-coded interview."""

from __future__ import annotations

from tests.coding.test_reports import coded  # noqa: F401 - a fixture, used by name
