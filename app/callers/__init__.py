"""Callers and officers who stream from a phone's browser: one-time links, consent, the text
message, the caller desk, and the HTTPS gateway (gateway/) that phones talk to."""
