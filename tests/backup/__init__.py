"""Tests of `harbour backup` and `harbour restore`."""
