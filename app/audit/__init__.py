"""The tamper-evident audit log: hash-chained entries, signed checkpoints and their verifier."""
