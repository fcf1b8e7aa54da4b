"""Plugins and the registry: hook specifications, loading entry points, components by kind and name, parameters read from signatures, and the contracts components implement."""
