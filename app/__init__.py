"""The Vigil application: entry point, config, services, and the composition of the window."""
