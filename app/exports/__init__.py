"""De-identified exports: the registry of exporters, safe tabular writers and the `harbour export` command."""
