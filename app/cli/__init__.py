"""Subcommands of `vigil`, one module each (see tui.COMMANDS)."""
