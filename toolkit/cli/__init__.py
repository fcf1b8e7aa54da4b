"""The command line: one click group, its commands, the component listing and the plugin scaffold."""
