"""Peers on exactly Timbre's folds: reads `timbre evaluate --export-splits` output, fits LensKit,
implicit and the numpy EASE formula on each fold's train.tsv, ranks every item the user has not
rated in training, scores with Timbre's definitions (metrics.py), and prints one table with the
rows of `timbre evaluate --splits-from … --format json` beside them.

Run through Benchmarks/peers/run, which makes the venv, the folds and Timbre's JSON.
"""

import argparse
import json
import os
import sys
import time
import traceback

import numpy as np
import pandas as pd
import scipy.sparse as sp

from metrics import selftest, top_n, user_metrics

N = 10


class Fold:
    """One fold over Timbre's index order (first appearance in the ratings file), so ties break
    the way Timbre's evaluator breaks them."""

    def __init__(self, folder, users, items):
        read = lambda name: pd.read_csv(os.path.join(folder, name), sep="\t", dtype={"user": str, "item": str},
                                        keep_default_na=False)
        self.train, self.test = read("train.tsv"), read("test.tsv")
        self.users, self.items = users, items
        self.user_index = {u: i for i, u in enumerate(users)}
        self.item_index = {i: k for k, i in enumerate(items)}
        rows = self.train.user.map(self.user_index).to_numpy()
        cols = self.train.item.map(self.item_index).to_numpy()
        # Binary interactions: every peer here is an implicit-feedback ranker.
        self.x = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(users), len(items)))
        self.trained_items = np.asarray(self.x.sum(axis=0)).ravel() > 0
        held = self.test.groupby("user").item.apply(lambda s: {self.item_index[i] for i in s})
        self.test_users = sorted(held.index, key=self.user_index.get)
        self.relevant = [held[u] for u in self.test_users]

    def rated(self, user_row):
        return self.x.indices[self.x.indptr[user_row]:self.x.indptr[user_row + 1]]


def evaluate(fold, scores_of, unscorable_untrained=True):
    """Per-user (P, R, NDCG) of `scores_of(user_rows) -> array [len(user_rows), items]`."""
    rows = [fold.user_index[u] for u in fold.test_users]
    scores = np.asarray(scores_of(rows), dtype=np.float64)
    if unscorable_untrained:
        # An item without training interactions is unknown to the peers' models.
        scores[:, ~fold.trained_items] = -np.inf
    out = []
    for k, (row, relevant) in enumerate(zip(rows, fold.relevant)):
        m = user_metrics(top_n(scores[k], fold.rated(row), N), relevant, N)
        if m is not None:
            out.append(m)
    return out


# MARK: models. Each fit(fold) returns (scores_of(user_rows), seconds): the time of training
# alone, not of turning the fold into the library's input, as Timbre's fit time counts.

def timed(train):
    start = time.perf_counter()
    result = train()
    return result, time.perf_counter() - start

def popularity(fold):
    counts, seconds = timed(lambda: np.asarray(fold.x.sum(axis=0)).ravel())
    return (lambda rows: np.tile(counts, (len(rows), 1))), seconds


def ease(lam):
    def fit(fold):
        def train():
            # Steck 2019: B = I − P·diag(1/diag(P)), P = (XᵀX + λI)⁻¹, diagonal of B zero.
            g = (fold.x.T @ fold.x).toarray().astype(np.float64)
            g[np.diag_indices_from(g)] += lam
            p = np.linalg.inv(g)
            b = p / -np.diag(p)
            b[np.diag_indices_from(b)] = 0
            return b
        b, seconds = timed(train)
        return (lambda rows: fold.x[rows] @ b), seconds
    return fit


def lenskit_scorer(make):
    def fit(fold):
        from lenskit.data import ItemList, from_interactions_df
        from lenskit.training import TrainingOptions
        scorer = make()
        data = from_interactions_df(fold.train[["user", "item"]].copy(), user_col="user", item_col="item")
        _, seconds = timed(lambda: scorer.train(data, TrainingOptions(rng=0)))
        universe = ItemList(item_ids=np.array(fold.items, dtype=object))

        def scores_of(rows):
            return np.stack([np.nan_to_num(scorer(fold.users[r], universe).scores(), nan=-np.inf) for r in rows])
        return scores_of, seconds
    return fit


def lenskit_implicit_mf(**config):
    def make():
        from lenskit.als import ImplicitMFConfig, ImplicitMFScorer
        return ImplicitMFScorer(ImplicitMFConfig(**config))
    return lenskit_scorer(make)


def lenskit_flexmf(**config):
    def make():
        from lenskit.flexmf import FlexMFImplicitConfig, FlexMFImplicitScorer
        return FlexMFImplicitScorer(FlexMFImplicitConfig(**config))
    return lenskit_scorer(make)


def implicit_model(make):
    def fit(fold):
        from threadpoolctl import threadpool_limits
        # implicit runs its own threads and asks for single-threaded BLAS underneath (it checks when
        # the model is made).
        with threadpool_limits(1, "blas"):
            model = make()
            _, seconds = timed(lambda: model.fit(fold.x, show_progress=False))
        users, items = model.user_factors, model.item_factors
        return (lambda rows: users[rows] @ items.T), seconds
    return fit


def implicit_als(**kw):
    def make():
        from implicit.cpu.als import AlternatingLeastSquares
        return AlternatingLeastSquares(random_state=0, **kw)
    return implicit_model(make)


def implicit_bpr(**kw):
    def make():
        from implicit.cpu.bpr import BayesianPersonalizedRanking
        return BayesianPersonalizedRanking(random_state=0, **kw)
    return implicit_model(make)


PEERS = [
    ("numpy EASE λ=250", "numpy", ease(250)),
    ("numpy EASE λ=500", "numpy", ease(500)),
    ("LensKit ImplicitMF 50 f, weight 1, reg 0.1", "lenskit", lenskit_implicit_mf(embedding_size=50, weight=1.0, regularization=0.1)),
    ("LensKit ImplicitMF defaults (weight 40)", "lenskit", lenskit_implicit_mf()),
    ("LensKit FlexMF BPR preset", "lenskit", lenskit_flexmf(preset="bpr")),
    ("implicit ALS 200 f, reg 5, α 2", "implicit", implicit_als(factors=200, regularization=5.0, alpha=2.0)),
    ("implicit BPR 64 f", "implicit", implicit_bpr(factors=64)),
]


def run(name, fit, folds):
    units, seconds = [], 0.0
    for fold in folds:
        scores_of, fit_seconds = fit(fold)
        seconds += fit_seconds
        units += evaluate(fold, scores_of, unscorable_untrained=fit is not popularity)
    p, r, ndcg = (float(np.mean([u[k] for u in units])) for k in range(3))
    return {"model": name, "NDCG@10": ndcg, "P@10": p, "R@10": r, "fit": seconds / len(folds), "units": len(units)}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--splits", required=True, help="directory written by timbre evaluate --export-splits")
    parser.add_argument("--ratings", required=True, help="the ratings file the folds were drawn from (for Timbre's index order)")
    parser.add_argument("--timbre-json", required=True, help="timbre evaluate --splits-from … --format json output")
    parser.add_argument("--only", help="comma-separated substrings: run only peers whose name contains one")
    args = parser.parse_args()

    selftest()
    ratings = pd.read_csv(args.ratings, sep="\t", dtype=str, keep_default_na=False)
    users, items = list(pd.unique(ratings.iloc[:, 0])), list(pd.unique(ratings.iloc[:, 1]))
    manifest = json.load(open(os.path.join(args.splits, "splits.json")))
    folds = [Fold(os.path.join(args.splits, f"fold-{f['fold']}"), users, items) for f in manifest["folds"]]
    timbre = json.load(open(args.timbre_json))

    def timbre_row(s):
        metric = {m["name"]: m for m in s["metrics"]}
        return {"model": "Timbre " + s["label"], "NDCG@10": metric["NDCG@10"]["value"], "P@10": metric["P@10"]["value"],
                "R@10": metric["R@10"]["value"], "fit": s["timings"]["fitSeconds"] / timbre["folds"],
                "units": metric["NDCG@10"]["units"]}
    rows = [timbre_row(s) for s in timbre["strategies"]]

    # The check of this file's split reading, candidates and metrics: popularity is deterministic,
    # so ours must equal Timbre's popularity row to rounding.
    check = run("popularity (python)", popularity, folds)
    ref = next((r for r in rows if r["model"] == "Timbre popularity"), None)
    if ref is not None:
        diff = max(abs(check[k] - ref[k]) for k in ("NDCG@10", "P@10", "R@10"))
        print(f"check: popularity in Python NDCG@10 {check['NDCG@10']:.6f}, Timbre {ref['NDCG@10']:.6f}; "
              f"largest difference {diff:.1e} over {check['units']} / {ref['units']} users", file=sys.stderr)
        if diff > 1e-9 or check["units"] != ref["units"]:
            sys.exit("the Python metrics disagree with Timbre's evaluator: not comparable")

    missing = []
    for name, package, fit in PEERS:
        if args.only and not any(s in name for s in args.only.split(",")):
            continue
        try:
            __import__(package)
        except ImportError as e:
            missing.append(f"{name} ({package} not installed: {e})")
            continue
        print(f"fitting {name} …", file=sys.stderr)
        try:
            rows.append(run(name, fit, folds))
        except Exception:
            traceback.print_exc()
            missing.append(f"{name} (failed, traceback above)")

    width = max(len(r["model"]) for r in rows)
    print(f"{'model':<{width}}  NDCG@10    P@10    R@10  fit s/fold")
    for r in rows:
        print(f"{r['model']:<{width}}  {r['NDCG@10']:.4f}  {r['P@10']:.4f}  {r['R@10']:.4f}  {r['fit']:10.3f}")
    print(f"\n{len(folds)} folds from {args.splits} ({manifest['splitDescription']}); {rows[0]['units']} test users; "
          "top-10 over every item unrated in training, any held-out item relevant, R = hits / |test|")
    for m in missing:
        print("not run: " + m)


if __name__ == "__main__":
    main()
