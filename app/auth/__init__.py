"""Users, roles, sessions and the access policy."""
