"""``python -m bench``: the comparison runner."""
from bench.compare import main

raise SystemExit(main())
