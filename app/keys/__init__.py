"""Root-key providers, the key store and key operations, wired from settings."""
