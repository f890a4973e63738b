"""``python -m grantex``: the ``grantex`` command line (see ``grantex._cli``)."""

from __future__ import annotations

import sys

from grantex._cli import main

if __name__ == "__main__":
    sys.exit(main())
