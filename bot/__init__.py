"""Footnote: answers common claims about China's social credit system with short, cited context."""

import os

# One BLAS thread: matching is many small products, and a multi-threaded BLAS on a busy 2-core host made them
# 10-50x slower. Must be set before numpy is first imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

__version__ = "0.1.0"
