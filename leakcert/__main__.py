"""`python -m leakcert`: the `leakcert` command."""

import sys

from leakcert.cli import main

sys.exit(main())
