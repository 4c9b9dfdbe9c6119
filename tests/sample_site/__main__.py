"""``python -m tests.sample_site``: run the sample site in the foreground."""

from __future__ import annotations

import sys

from .server import main

sys.exit(main())
