"""The `bin-console` commands (argument parsing and the command functions)."""
