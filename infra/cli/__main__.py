"""`python -m infra.cli`: the same as the `cxm` command."""

import sys

from infra.cli import main

sys.exit(main())
