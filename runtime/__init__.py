"""Wiring: settings, connections, the embedded services launcher, the CLI."""
