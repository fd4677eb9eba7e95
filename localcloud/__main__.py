"""python -m localcloud up|outputs|invoke: the project's Pulumi program on an embedded, Docker-free AWS
(localcloud.core.cli)."""

import sys

from localcloud.core.cli import main

sys.exit(main())
