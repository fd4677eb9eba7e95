"""python -m localcloud up [--stack local]: the project's Pulumi program on an embedded, Docker-free AWS."""

import sys

from localcloud.core.cli import main

sys.exit(main())
