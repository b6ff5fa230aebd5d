"""What SnapStart must not copy: state that has to differ between execution environments.

With SnapStart (template.yaml, the API functions), Lambda runs the init phase
once per published version, snapshots it, and resumes every new execution
environment from that one snapshot. Anything made at import is then shared by
all of them. What this code makes at import:

* ``random``'s state, seeded once at interpreter start: every restored
  environment would draw the same numbers (botocore's retry jitter, the close
  run's back-off), so their retries would collide instead of spreading. It is
  reseeded from ``os.urandom`` after each restore.
* Nothing else that must be unique: AWS clients (and the credentials and
  connections they hold) are made on first use, which is after the restore;
  ids and tokens come from ``uuid4``/``secrets`` (``os.urandom``) when asked.

``snapshot_restore_py`` ships with Lambda's Python runtimes; elsewhere (tests,
the local stack) there are no snapshots and nothing to register.
"""

from __future__ import annotations

import random

try:
    from snapshot_restore_py import register_after_restore
except ImportError:  # not in Lambda's managed runtime
    register_after_restore = None


def reseed() -> None:
    random.seed()  # from os.urandom


if register_after_restore is not None:
    register_after_restore(reseed)
