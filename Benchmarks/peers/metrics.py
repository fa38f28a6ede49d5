"""Top-N metrics with exactly the definitions of Timbre's evaluator
(Sources/TimbreEvaluation/RankingMetrics.swift and Evaluation.swift):

- candidates: every item of the dataset the user has not rated in the fold's training data;
  items a model cannot score (-inf / NaN) are skipped, as Timbre's topN does;
- ranking: score descending, ties broken by the lower item index (Timbre's index = order of first
  appearance in the ratings file);
- relevant: every held-out item of the user; users without one are left out (undefined, not 0);
- P@N = hits / N (even when fewer than N items could be ranked); R@N = hits / |relevant|;
  NDCG@N = sum over hits of 1/log2(rank + 1), divided by the ideal DCG of min(|relevant|, N) hits;
- the reported value is the mean over all (fold, user) units, pooled over folds.
"""

import math

import numpy as np


def top_n(scores, excluded, n):
    """Indices of the n best finite scores, best first, skipping `excluded` (an index array)."""
    s = np.asarray(scores, dtype=np.float64).copy()
    s[np.isnan(s)] = -np.inf
    s[excluded] = -np.inf
    finite = np.flatnonzero(s > -np.inf)
    if finite.size == 0:
        return []
    # lexsort sorts by the last key first: score descending, then index ascending.
    order = finite[np.lexsort((finite, -s[finite]))]
    return order[:n].tolist()


def user_metrics(ranked, relevant, n):
    """(precision, recall, ndcg) of one list, or None when the user has no relevant item."""
    if not relevant:
        return None
    dcg = 0.0
    hits = 0
    for position, item in enumerate(ranked[:n]):
        if item in relevant:
            hits += 1
            dcg += 1 / math.log2(position + 2)
    idcg = sum(1 / math.log2(p + 2) for p in range(min(len(relevant), n)))
    return hits / n, hits / len(relevant), dcg / idcg


def selftest():
    """The hand-worked cases of Tests/TimbreEvaluationTests/MetricsTests.swift."""
    # List 7, 3, 9, 1, 5; relevant {3, 5, 8}; N = 5: hits at ranks 2 and 5.
    p, r, ndcg = user_metrics([7, 3, 9, 1, 5], {3, 5, 8}, 5)
    assert p == 0.4 and abs(r - 2 / 3) < 1e-12 and abs(ndcg - 0.477624) < 1e-6, (p, r, ndcg)
    # One rankable item, relevant {3, 8}, N = 10: P divides by N, the ideal uses min(2, 10) hits.
    p, r, ndcg = user_metrics([3], {3, 8}, 10)
    assert p == 0.1 and r == 0.5 and abs(ndcg - 0.613147) < 1e-6, (p, r, ndcg)
    assert user_metrics([1, 2], set(), 2) is None
    # Ties go to the lower index; excluded and unscorable items never appear.
    assert top_n([1.0, 2.0, 2.0, float("nan"), 5.0, -np.inf], np.array([4]), 3) == [1, 2, 0]


if __name__ == "__main__":
    selftest()
    print("metrics self-test passed")
