"""``python -m apexbench serve|export``: the same as the ``apexbench`` console script."""

import sys

from .cli import main

sys.exit(main())
