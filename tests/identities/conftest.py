"""A key store of the test's own and a system context over it."""

from tests.keys.fixtures import ctx, keys  # noqa: F401 - fixtures
