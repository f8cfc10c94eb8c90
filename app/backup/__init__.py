"""Online backup and verified restore (`harbour backup PATH`, `harbour restore PATH`)."""
