"""Load and crash tooling for Harbour: a live uvicorn server, fictional seed data and a concurrent client."""
