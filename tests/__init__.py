"""The test suite, a package so that its helpers are imported by name (`from tests.support import snakemake_cli`)
with no sys.path edits: pyproject.toml puts the project root on pytest's path (`pythonpath`). tests/README.md
says where everything is."""
