"""``python -m ordersctl``."""

import sys

from ordersctl.cli import main

sys.exit(main())
