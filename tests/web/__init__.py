"""Tests of the web layer helpers: server-side charts."""
