"""The domain layer (``billing``) for the local stack's own code: the bank it plays and the lease rule it reads."""

from __future__ import annotations

import sys
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[1] / "layers" / "domain"


def use_domain_layer() -> None:
    """Make ``billing`` importable here, as a function's layer makes it there."""
    if str(DOMAIN) not in sys.path:
        sys.path.append(str(DOMAIN))
