"""Make the repository root importable for these tests: the editable install does not map ``infra``."""

from __future__ import annotations

import sys
from pathlib import Path

# pytest's default "prepend" import mode puts the first directory above the test package on sys.path
# (tests/integration here), not the repository root, so ``import infra`` would fail under a bare `pytest`.
_REPO_ROOT = str(Path(__file__).resolve().parents[3])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)
