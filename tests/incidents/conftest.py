"""The coding bench (a seeded codebook, two coders, an approved interview) reused for incidents."""

from __future__ import annotations

from tests.coding.conftest import Bench, bench  # noqa: F401 - fixtures
from tests.interviews.conftest import world  # noqa: F401 - fixture
