"""Tiny examples of the registered backends, one module per backend named after it (tests/backends/README.md);
imported by name with importlib (tests.support.shipped_configs.example_module), as some names hold '-'."""
