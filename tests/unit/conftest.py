"""Unit tests of the pure domain rules: no AWS, no network, no clock.

The project root goes on `sys.path` so `chalicelib` imports however pytest is started.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
