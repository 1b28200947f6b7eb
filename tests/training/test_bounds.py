"""The fast engine reads and writes only inside its arrays.

Its kernels index without checks, for speed, and an index past an array's end reads another
array's numbers, or crashes the interpreter, rather than raising. Here they are compiled
afresh with Numba's bounds checks (``NUMBA_BOUNDSCHECK=1``, in a subprocess with a cache of
its own) and trained at every batch size near the ends of an epoch, where the rows that the
kernels ask the caches for (the rows ahead of the batch) run out.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nudgenet import Network
from nudgenet.training import fast

pytestmark = pytest.mark.skipif(
    fast.unsupported(Network(), np.float32) is not None,
    reason=f"the fast engine cannot run here: {fast.unsupported(Network(), np.float32)}",
)

# 47 examples: every batch size from 1 to 25 leaves a different last batch, and 47 < 48, the
# smallest batch cut into slices. 36 inputs: two vectors of 16 and four columns past them;
# 18 units: two tiles of 8 and 2 past them.
SCRIPT = """
import numpy as np
from nudgenet import Network, TrainSettings, init_params, train
rng = np.random.default_rng(0)
n, sizes = 47, (36, 18, 12, 3)
X = rng.uniform(0.0, 1.0, (n, sizes[0])).astype(np.float32)
Y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, n)]
network = Network(sizes)
runs = 0
for momentum in (0.0, 0.9):  # plain SGD takes the fused steps; momentum the others
    for batch in [*range(1, 26), 31, 46, 0]:
        theta = init_params(network.layout, "xavier", rng=np.random.default_rng(1),
                            dtype=np.float32)
        settings = TrainSettings(epochs=2, batch_size=batch, lr=0.1, momentum=momentum)
        list(train(network, theta, X, Y, settings, rng=np.random.default_rng(2),
                   engine="fast"))
        runs += 1
print("runs", runs)
"""


def test_the_fast_engine_stays_inside_its_arrays(tmp_path: Path) -> None:
    env = {**os.environ, "NUMBA_BOUNDSCHECK": "1", "NUMBA_CACHE_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert done.stdout.split() == ["runs", "56"]
