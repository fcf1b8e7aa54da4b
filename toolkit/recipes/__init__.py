"""Recipes: the TOML format and its checks, its JSON Schema, and building components from it."""
