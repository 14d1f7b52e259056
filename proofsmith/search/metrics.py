"""Numbers computed from search results: pass@k and solved-at-budget."""

from __future__ import annotations

import math
from collections.abc import Iterable

from proofsmith.search.base import SearchResult


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimator (Chen et al. 2021) for `c` correct of `n` samples: 1 - C(n-c, k) / C(n, k)."""
    if not 0 <= c <= n or k < 1:
        raise ValueError(f"pass@k needs 0 <= c <= n and k >= 1, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def solved_within(results: Iterable[SearchResult], model_calls: int) -> int:
    """How many searches verified a candidate within `model_calls` proposals (anytime strategies)."""
    return sum(1 for r in results if r.solved and r.solved_at is not None and r.solved_at.model_calls <= model_calls)
