"""The `vigil` command line's subcommands, a module each; app/cli.py parses and dispatches."""
