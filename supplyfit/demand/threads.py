"""Thread settings of the OpenMP models (LightGBM here and in the hotspot ranker), in one place.

OpenMP reads ``OMP_WAIT_POLICY`` once, when the library loads, so this module sets it on import and the models
import it before LightGBM: busy-waiting threads make LightGBM about ten times slower on shared cores.
"""

from __future__ import annotations

import os

LGBM_THREADS = 2  # more threads than this gains little on the panels here and starves a shared machine

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
