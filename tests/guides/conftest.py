"""Reuse the testimony world: a project with an interviewer, a coder and fictional persons."""

from tests.interviews.conftest import world  # noqa: F401 - fixture
