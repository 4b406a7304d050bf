"""The feeds an instance shows: the sources it runs (from the config, the demo, or callers as
they come) and what `vigil status` says of each."""
