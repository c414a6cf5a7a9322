"""``python -m asyncqlio migrate ...``: see :mod:`asyncqlio.migrations.cli`."""
import sys

from asyncqlio.migrations.cli import main

if __name__ == "__main__":
    sys.exit(main())
