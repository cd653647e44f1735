"""rag-tutor: an offline tutor for Generative AI, grounded in its course material."""

import os

# OpenMP threads (torch's, and the second-stage ranker's own runtime) sleep when idle instead of spinning. It must be
# set before torch loads, hence here. On the 2-core machine at load average 7, the default (active) policy took
# retrieval from 0.07 s to 0.65 s and a whole answer from 15.7 s to 24.1 s (medians of 6 questions, /tmp script,
# same run); a query embedding from 19-70 ms to 157-1029 ms. A user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
