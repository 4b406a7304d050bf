"""The caller gateway: HTTPS endpoints for caller links, consent, WHIP media and location."""
