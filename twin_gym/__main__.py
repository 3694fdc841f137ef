"""Run the ``twin-gym`` command as ``python -m twin_gym``."""

import sys

from twin_gym.cli import main

sys.exit(main())
