"""``GRANTEX_LOG=info|debug``: show the client's log lines on stderr (as ``OPENAI_LOG`` does
for the OpenAI SDK). Without it, the logger ``grantex`` follows the application's own
``logging`` configuration (and says nothing by default)."""

from __future__ import annotations

import logging
import os

__all__ = ["setup_from_env"]

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}


def setup_from_env() -> None:
    level = _LEVELS.get(os.environ.get("GRANTEX_LOG", "").strip().lower())
    if level is None:
        return
    logger = logging.getLogger("grantex")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level)
