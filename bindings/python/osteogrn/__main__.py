"""``python -m osteogrn``: the command line (same as the ``osteogrn`` script)."""

from .cli import main

raise SystemExit(main())
