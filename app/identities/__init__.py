"""The identity vault: who a pseudonymous person really is, encrypted under that person's own data key."""
