"""The runtime's unit tests; the raw records they feed the consumer are built in runtime_records.py."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
