"""`python -m enforcer`: the same as the `leakcert-enforcer` command."""

import sys

from enforcer.cli import main

sys.exit(main())
