#!/usr/bin/env python3
"""Writes the committed fixture of Tests/TimbreNeuralTests (LogisticRegressionTests): a small
three-class data set and scikit-learn's LogisticRegression fit of it, run once, never by the tests.

    python3 -m venv /tmp/venv-lr && /tmp/venv-lr/bin/pip install scikit-learn numpy
    /tmp/venv-lr/bin/python scripts/logistic-reference.py Tests/TimbreNeuralTests/Fixtures

Defaults (lbfgs, multinomial, L2, intercept) except tol / max_iter, tightened so sklearn stops at
the optimum, which is unique in the weights: the Swift fit is compared with that optimum. Two
penalties (C = 1, sklearn's default, and C = 0.25) so that the scale of the penalty is tested too.
"""
import csv
import sys

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression

out = sys.argv[1]
rng = np.random.default_rng(16)
n, d, k = 36, 4, 3
labels = np.arange(n) % k
centres = rng.normal(0, 1.0, size=(k, d))
x = centres[labels] + rng.normal(0, 1.0, size=(n, d))  # overlapping classes: not separable
x = np.round(x, 4)  # what the CSV holds is what was fitted
with open(f"{out}/logistic-data.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow([f"x{j}" for j in range(d)] + ["label"])
    for row, label in zip(x, labels):
        w.writerow([f"{v:.4f}" for v in row] + [int(label)])
with open(f"{out}/logistic-sklearn.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["C", "class", "intercept"] + [f"w{j}" for j in range(d)])
    for c in (1.0, 0.25):
        model = LogisticRegression(C=c, tol=1e-12, max_iter=100_000).fit(x, labels)
        for cls in range(k):
            w.writerow([c, cls, f"{model.intercept_[cls]:.10f}"] + [f"{v:.10f}" for v in model.coef_[cls]])
print(f"sklearn {sklearn.__version__}, numpy {np.__version__}", file=sys.stderr)
