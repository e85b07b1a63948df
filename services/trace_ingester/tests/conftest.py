"""The trace-ingester's unit tests share helpers through ingester_support.py."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
