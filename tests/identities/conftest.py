"""A key store of the test's own, a system context over it, and the `harbour` command."""

from tests.keys.fixtures import ctx, harbour, keys  # noqa: F401 - fixtures
