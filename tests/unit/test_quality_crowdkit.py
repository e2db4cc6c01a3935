"""crowd-kit as the oracle: our MajorityVote, Dawid-Skene and GLAD against crowdkit.aggregation on the
same simulated crowds. crowd-kit is a test-only dependency (the `test` extra); these tests skip only when it
is not installed and CI is not set — under CI=true a missing crowd-kit fails them."""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
import pytest

from seatflow.quality import aggregate as ag

try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the oracle's own import-time deprecation notices
        import pandas as pd
        from crowdkit.aggregation import GLAD, DawidSkene, MajorityVote
except ImportError:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        raise
    pytest.skip("crowd-kit is not installed: pip install -e '.[test]'", allow_module_level=True)


def crowd(seed: int, n_items: int, n_workers: int, k: int, overlap: int) -> tuple[Any, np.ndarray]:
    """Known truth, imbalanced classes, spammers (random answers), experts and mixed workers."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(k, size=n_items, p=np.r_[0.55, np.full(k - 1, 0.45 / (k - 1))])
    acc = rng.uniform(0.5, 0.9, n_workers)
    acc[: max(1, n_workers // 8)] = 1.0 / k
    acc[-2:] = 0.97
    rows = []
    for i in range(n_items):
        for w in rng.choice(n_workers, size=overlap, replace=False):
            label = truth[i] if rng.random() < acc[w] else rng.choice([c for c in range(k) if c != truth[i]])
            rows.append((i, int(w), int(label)))
    arr = np.array(rows)
    return (arr[:, 0], arr[:, 1], arr[:, 2]), truth


CROWDS = [(0, 300, 20, 3, 5), (1, 200, 12, 2, 3), (2, 250, 15, 4, 4), (3, 150, 30, 3, 7)]


def oracle(model: Any, data: Any, k: int) -> np.ndarray:
    df = pd.DataFrame({"task": data[0], "worker": data[1], "label": data[2]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas FutureWarnings inside crowd-kit
        probas = model.fit_predict_proba(df)
    return probas.sort_index()[list(range(k))].to_numpy()


def check_crowd_covers_all(data: Any, k: int, n_items: int) -> None:
    # crowd-kit only knows the items and classes it saw; the crowds are built so that it sees all
    assert len(np.unique(data[2])) == k and len(np.unique(data[0])) == n_items


@pytest.mark.parametrize(("seed", "n_items", "n_workers", "k", "overlap"), CROWDS)
def test_majority_vote_matches_crowdkit(seed: int, n_items: int, n_workers: int, k: int, overlap: int) -> None:
    data, _truth = crowd(seed, n_items, n_workers, k, overlap)
    check_crowd_covers_all(data, k, n_items)
    theirs = oracle(MajorityVote(), data, k)
    ours = ag.majority_vote(data)
    np.testing.assert_allclose(ours.posteriors, theirs, atol=1e-12)
    # ties included: both take the lowest class
    assert ours.labels.tolist() == np.argmax(theirs, axis=1).tolist()


@pytest.mark.parametrize(("seed", "n_items", "n_workers", "k", "overlap"), CROWDS)
def test_dawid_skene_matches_crowdkit(seed: int, n_items: int, n_workers: int, k: int, overlap: int) -> None:
    data, truth = crowd(seed, n_items, n_workers, k, overlap)
    check_crowd_covers_all(data, k, n_items)
    theirs = oracle(DawidSkene(n_iter=100), data, k)
    ours = ag.dawid_skene(data)
    assert ours.labels.tolist() == np.argmax(theirs, axis=1).tolist()
    np.testing.assert_allclose(ours.posteriors, theirs, atol=1e-6)
    assert (ours.labels == truth).mean() > 0.8


@pytest.mark.parametrize(("seed", "n_items", "n_workers", "k", "overlap"), CROWDS[:3])
def test_glad_matches_crowdkit_step_for_step(seed: int, n_items: int, n_workers: int, k: int, overlap: int) -> None:
    """Same schedule as crowd-kit's GLAD (conjugate gradient M-steps of at most 25 iterations, gtol 1e-2),
    run for a fixed number of EM iterations: the same posteriors. crowd-kit's ``probas_`` come from the E-step
    before its last M-step, so its n_iter=k+1 is our n_iter=k."""
    data, _truth = crowd(seed, n_items // 2, n_workers, k, overlap)
    n = len(np.unique(data[0]))
    check_crowd_covers_all(data, k, n)
    theirs = oracle(GLAD(n_iter=4, tol=-np.inf), data, k)
    ours = ag.glad(data, n_iter=3, tol=-np.inf, m_step_method="CG", m_step_max_iter=25, m_step_tol=1e-2)
    assert ours.labels.tolist() == np.argmax(theirs, axis=1).tolist()
    np.testing.assert_allclose(ours.posteriors, theirs, atol=1e-4)


def test_glad_converged_matches_crowdkit_run_long() -> None:
    """Our default GLAD (EM to convergence, conjugate-gradient M-steps of up to 50 iterations) against
    crowd-kit's run for 40 EM iterations (its own stopping rule, on the expected complete log-likelihood,
    often stops it after 2)."""
    data, truth = crowd(4, 100, 10, 3, 5)
    check_crowd_covers_all(data, 3, 100)
    theirs = oracle(GLAD(n_iter=40, tol=-np.inf), data, 3)
    ours = ag.glad(data)
    assert ours.labels.tolist() == np.argmax(theirs, axis=1).tolist()
    np.testing.assert_allclose(ours.posteriors, theirs, atol=0.03)
    assert (ours.labels == truth).mean() > 0.85


@pytest.mark.parametrize(("seed", "n_items", "n_workers", "k", "overlap"), CROWDS[:2])
def test_glad_default_at_least_as_good_as_crowdkit_default(
    seed: int, n_items: int, n_workers: int, k: int, overlap: int
) -> None:
    data, _truth = crowd(seed, n_items, n_workers, k, overlap)
    df = pd.DataFrame({"task": data[0], "worker": data[1], "label": data[2]})
    model = GLAD()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(df)
    theirs = model.probas_.sort_index()[list(range(k))].to_numpy()
    ours = ag.glad(data)
    assert ours.worker_ability is not None and ours.item_difficulty is not None
    objective_ours = ag.glad_log_posterior(data, ours.worker_ability, -np.log(ours.item_difficulty))
    objective_theirs = ag.glad_log_posterior(data, model.alphas_.sort_index().to_numpy(),
                                             model.betas_.sort_index().to_numpy())
    assert objective_ours >= objective_theirs - 1e-2
    assert (ours.labels == np.argmax(theirs, axis=1)).mean() >= 0.9
