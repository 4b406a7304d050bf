"""The `vigil` command line's subcommands, a module each; app/cli.py parses and dispatches,
importing a subcommand's module only when it runs."""
