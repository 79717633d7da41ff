"""`python -m tutti.supervisor ROOT`: the workspace's background supervisor process."""

import sys

from tutti.supervisor.process import main

sys.exit(main())
