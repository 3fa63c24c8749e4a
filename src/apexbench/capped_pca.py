"""PCA whose number of components is capped by the data it is fit on (scikit-learn compatible).

A separate module so that scikit-learn is imported only by the jobs that train: the workflow imports
``apexbench.baselines`` when Snakemake builds the DAG, and importing scikit-learn there cost 0.8 s
per Snakemake command.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA


class CappedPCA(TransformerMixin, BaseEstimator):
    """PCA with at most ``max_components`` components, fewer when the data it is fit on is smaller:
    ``min(max_components, n_samples - 1, n_features)``, at least 1 (a small LOSO training fold)."""

    def __init__(self, max_components: int = 64, random_state=None):
        self.max_components = max_components
        self.random_state = random_state

    def _new_pca(self, X) -> PCA:
        n_samples, n_features = np.shape(X)
        n = max(1, min(self.max_components, n_samples - 1, n_features))
        return PCA(n_components=n, random_state=self.random_state)

    def fit(self, X, y=None):
        self.pca_ = self._new_pca(X).fit(X)
        return self

    def fit_transform(self, X, y=None):  # PCA's own fit_transform: the same bits as a plain PCA
        self.pca_ = self._new_pca(X)
        return self.pca_.fit_transform(X)

    def transform(self, X):
        return self.pca_.transform(X)
