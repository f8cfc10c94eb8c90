"""Alembic migrations (revision files under versions/)."""
