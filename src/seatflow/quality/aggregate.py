"""Aggregate several workers' answers into one, vectorised on numpy.

Categorical answers (classes, moderation decisions, dispositions) come as three equally long
integer arrays: ``items[r]``, ``workers[r]``, ``labels[r]`` for answer ``r`` (indexes from 0;
the caller maps its ids to indexes). Every aggregator returns an :class:`Aggregation`: per-item
posterior distributions over the classes, the aggregate label (argmax; ties go to the lowest
class index) with its confidence (the posterior of that label), and per-worker skill estimates.
Items without answers get label -1, confidence 0 and the prior as posterior.

* :func:`majority_vote` — (optionally weighted) vote shares.
* :func:`dawid_skene` — Dawid & Skene (1979): one full confusion matrix per worker and class
  priors, fitted by EM from the majority-vote posteriors.
* :func:`glad` — Whitehill et al. (2009): worker ability ``alpha`` and item inverse-difficulty
  ``exp(beta)``; a worker answers right with probability ``sigmoid(alpha * exp(beta))`` and
  otherwise picks one of the other classes uniformly. EM, with the M-step's gradient ascent done
  by :func:`scipy.optimize.minimize` (conjugate gradient); Gaussian priors N(1, 1) on alpha and beta.
* :func:`one_coin_posterior` / :func:`one_coin_posteriors` — the posterior over the classes
  given the answers so far and each answering worker's accuracy (used by dynamic overlap).
* :func:`aggregate_boxes` — clusters boxes across workers by IoU and averages the clusters
  a majority of workers drew; :func:`aggregate_keypoints` — per-point median (or mean).

These reproduce crowd-kit's ``MajorityVote``, ``DawidSkene`` and ``GLAD`` (its defaults) on the
same inputs; the unit tests check that against crowd-kit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit, logsumexp

from seatflow.errors import ValidationFailed
from seatflow.i18n.message import Msg
from seatflow.quality.scoring import hungarian_match
from seatflow.worktypes._geometry import box_iou

#: Floor for probabilities before taking logs (as crowd-kit does).
EPS = 1e-10


# -- input -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Answers:
    """Validated categorical answers: one row per answer."""

    items: np.ndarray
    workers: np.ndarray
    labels: np.ndarray
    n_items: int
    n_workers: int
    n_classes: int

    @property
    def size(self) -> int:
        return int(self.items.shape[0])


def _index_array(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValidationFailed(Msg("{name}: must be a one-dimensional array, got {ndim} dimensions", name=name,
                                   ndim=arr.ndim), field=name)
    if arr.size == 0:
        return arr.astype(np.int64)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.floor(arr)):
            raise ValidationFailed(Msg("{name}: must hold whole numbers (indexes)", name=name), field=name)
    elif arr.dtype.kind not in "iu":
        raise ValidationFailed(Msg("{name}: must hold integer indexes, got {dtype}", name=name, dtype=str(arr.dtype)),
                               field=name)
    out = arr.astype(np.int64)
    if np.any(out < 0):
        raise ValidationFailed(Msg("{name}: indexes must be 0 or more, got {got}", name=name, got=int(out.min())),
                               field=name)
    return out


def _count(given: int | None, arr: np.ndarray, name: str, index_name: str) -> int:
    needed = int(arr.max()) + 1 if arr.size else 0
    if given is None:
        return needed
    if given < needed:
        raise ValidationFailed(Msg("{field}: index {index} is out of range for {name}={given}", field=index_name,
                                   index=needed - 1, name=name, given=given), field=index_name)
    return int(given)


def answers(
    items: Any, workers: Any, labels: Any, *,
    n_items: int | None = None, n_workers: int | None = None, n_classes: int | None = None,
) -> Answers:
    """Check and pack the three arrays; the counts default to the largest index + 1."""
    it = _index_array(items, "items")
    wk = _index_array(workers, "workers")
    lb = _index_array(labels, "labels")
    if not (it.shape == wk.shape == lb.shape):
        raise ValidationFailed(Msg("items, workers and labels must be equally long, got {items}, {workers}, {labels}",
                                   items=it.size, workers=wk.size, labels=lb.size), field="labels")
    return Answers(it, wk, lb, _count(n_items, it, "n_items", "items"),
                   _count(n_workers, wk, "n_workers", "workers"), _count(n_classes, lb, "n_classes", "labels"))


def _as_answers(data: Answers | tuple[Any, Any, Any], **counts: int | None) -> Answers:
    if isinstance(data, Answers):
        return data
    items, workers, labels = data
    return answers(items, workers, labels, **counts)


# -- output ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Aggregation:
    method: str
    posteriors: np.ndarray  # (n_items, n_classes), rows sum to 1
    labels: np.ndarray  # (n_items,), -1 where an item has no answers
    confidence: np.ndarray  # (n_items,), the posterior of the label; 0 where no answers
    worker_accuracy: np.ndarray  # (n_workers,), estimated probability of a right answer; nan without answers
    priors: np.ndarray  # (n_classes,)
    iterations: int = 0
    confusion: np.ndarray | None = None  # Dawid-Skene: [worker, true class, given class] = P(given | true)
    worker_ability: np.ndarray | None = None  # GLAD: alpha per worker
    item_difficulty: np.ndarray | None = None  # GLAD: 1 / exp(beta) per item (higher is harder)


def _finish(method: str, a: Answers, posteriors: np.ndarray, priors: np.ndarray, worker_accuracy: np.ndarray,
            **extra: Any) -> Aggregation:
    answered = np.bincount(a.items, minlength=a.n_items) > 0
    post = np.where(answered[:, None], posteriors, priors[None, :])
    labels = np.where(answered, np.argmax(post, axis=1), -1) if a.n_classes else np.full(a.n_items, -1)
    conf = np.where(answered, post[np.arange(a.n_items), np.maximum(labels, 0)], 0.0) if a.n_classes \
        else np.zeros(a.n_items)
    return Aggregation(method, post, labels.astype(np.int64), conf, worker_accuracy, priors, **extra)


def _per_item(a: Answers, values: np.ndarray) -> np.ndarray:
    """Sum per-answer rows ``values`` (n_answers, n_classes) into per-item rows."""
    out = np.zeros((a.n_items, values.shape[1]))
    for c in range(values.shape[1]):
        out[:, c] = np.bincount(a.items, weights=values[:, c], minlength=a.n_items)
    return out


def _softmax_rows(logits: np.ndarray) -> np.ndarray:
    return np.exp(logits - logsumexp(logits, axis=1, keepdims=True))


def _agreement_with(a: Answers, labels: np.ndarray) -> np.ndarray:
    """Share of each worker's answers that equal the item's aggregate label (nan without answers)."""
    right = (labels[a.items] == a.labels).astype(float)
    hits = np.bincount(a.workers, weights=right, minlength=a.n_workers)
    total = np.bincount(a.workers, minlength=a.n_workers).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, hits / np.where(total > 0, total, 1), np.nan)


# -- majority vote ---------------------------------------------------------------------------------

def majority_vote(
    data: Answers | tuple[Any, Any, Any], *, weights: Any = None, **counts: int | None
) -> Aggregation:
    """Vote shares per item. ``weights`` (one per worker) turns it into a weighted vote."""
    a = _as_answers(data, **counts)
    k = max(a.n_classes, 1)
    if weights is None:
        w = np.ones(a.size)
    else:
        ww = np.asarray(weights, dtype=float)
        if ww.shape != (a.n_workers,) or not np.all(np.isfinite(ww)) or np.any(ww < 0):
            raise ValidationFailed(Msg("weights: need {n} finite weights of 0 or more, one per worker", n=a.n_workers),
                                   field="weights")
        w = ww[a.workers]
    scores = np.bincount(a.items * k + a.labels, weights=w, minlength=a.n_items * k).reshape(a.n_items, k)
    total = scores.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        post = np.where(total > 0, scores / np.where(total > 0, total, 1), 1.0 / k)
    priors = np.full(k, 1.0 / k)
    labels = np.argmax(post, axis=1)
    return _finish("majority_vote", a, post, priors, _agreement_with(a, labels))


# -- Dawid-Skene -----------------------------------------------------------------------------------

def _ds_m_step(a: Answers, post: np.ndarray) -> np.ndarray:
    """Confusion matrices [worker, true, given] from the item posteriors."""
    k = a.n_classes
    counts = np.zeros((a.n_workers * k, k))  # row = worker * k + given, column = true class
    rows = a.workers * k + a.labels
    t = post[a.items]
    for c in range(k):
        counts[:, c] = np.bincount(rows, weights=t[:, c], minlength=a.n_workers * k)
    conf = np.clip(counts.reshape(a.n_workers, k, k), EPS, None)  # [worker, given, true]
    conf /= conf.sum(axis=1, keepdims=True)
    return np.transpose(conf, (0, 2, 1))  # [worker, true, given]


def _ds_e_step(a: Answers, priors: np.ndarray, conf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    log_lik = np.log(conf[a.workers, :, a.labels])  # (n_answers, true classes)
    logits = np.log(np.clip(priors, EPS, None))[None, :] + _per_item(a, log_lik)
    return _softmax_rows(logits), log_lik


def dawid_skene(
    data: Answers | tuple[Any, Any, Any], *, n_iter: int = 100, tol: float = 1e-5, **counts: int | None
) -> Aggregation:
    """Dawid-Skene by EM, started from the majority vote's posteriors.

    Stops when the evidence lower bound per answer gains less than ``tol`` (as crowd-kit).
    """
    a = _as_answers(data, **counts)
    k = a.n_classes
    answered = np.bincount(a.items, minlength=a.n_items) > 0
    if a.size == 0 or k == 0:
        k = max(k, 1)
        empty = np.full(k, 1.0 / k)
        return _finish("dawid_skene", a, np.tile(empty, (a.n_items, 1)), empty, np.full(a.n_workers, np.nan),
                       confusion=np.tile(np.eye(k), (a.n_workers, 1, 1)))
    post = majority_vote(a).posteriors
    priors = post[answered].mean(axis=0)
    conf = _ds_m_step(a, post)
    elbo = -np.inf
    iterations = 0
    for _ in range(n_iter):
        iterations += 1
        post, _log_lik = _ds_e_step(a, priors, conf)
        priors = post[answered].mean(axis=0)
        conf = _ds_m_step(a, post)
        # the bound crowd-kit uses to stop: E[log p(answers, truth)] + entropy, per answer
        t = post[a.items]
        log_p = np.log(conf[a.workers, :, a.labels]) + np.log(np.clip(priors, EPS, None))[None, :]
        tt = np.clip(post[answered], EPS, None)
        new = float(((t * log_p).sum() - (tt * np.log(tt)).sum()) / a.size)
        if new - elbo < tol:
            break
        elbo = new
    seen = np.bincount(a.workers, minlength=a.n_workers) > 0
    diag = np.einsum("wcc->wc", conf)
    accuracy = np.where(seen, diag @ priors, np.nan)
    return _finish("dawid_skene", a, post, priors, accuracy, iterations=iterations, confusion=conf)


# -- GLAD ------------------------------------------------------------------------------------------

def glad(
    data: Answers | tuple[Any, Any, Any], *, n_iter: int = 100, tol: float = 1e-6,
    priors: Any = None, alpha_prior: float = 1.0, beta_prior: float = 1.0,
    m_step_method: Literal["L-BFGS-B", "CG"] = "CG", m_step_max_iter: int = 50,
    m_step_tol: float | None = None, **counts: int | None,
) -> Aggregation:
    """GLAD by EM, to convergence of the MAP objective.

    ``priors`` are the class priors (uniform by default; kept fixed, as crowd-kit does). The
    parameters have Gaussian priors N(``alpha_prior``, 1) and N(``beta_prior``, 1). Each M-step
    raises the expected complete log-likelihood over (alpha, beta) with scipy's ``m_step_method``
    (conjugate gradient, at most ``m_step_max_iter`` iterations: a generalised EM step; L-BFGS-B
    is slower per iteration with one parameter per item); EM stops when the log posterior
    (marginal log-likelihood of the answers plus the parameters' log priors) gains less than
    ``tol`` per answer.
    """
    a = _as_answers(data, **counts)
    k = a.n_classes
    if priors is None:
        p = np.full(max(k, 1), 1.0 / max(k, 1))
    else:
        p = np.asarray(priors, dtype=float)
        if p.shape != (k,) or np.any(p < 0) or not np.isclose(p.sum(), 1.0):
            raise ValidationFailed(Msg("priors: need {k} probabilities that sum to 1", k=k), field="priors")
    if m_step_method not in ("L-BFGS-B", "CG"):
        raise ValidationFailed(Msg("m_step_method: must be 'L-BFGS-B' or 'CG', got {got!r}", got=m_step_method),
                               field="m_step_method")
    alpha = np.full(a.n_workers, alpha_prior, dtype=float)
    beta = np.full(a.n_items, beta_prior, dtype=float)
    if a.size == 0 or k < 2:
        post = np.tile(p, (a.n_items, 1))
        if k == 1:
            post[:] = 1.0
        return _finish("glad", a, post, p, np.full(a.n_workers, np.nan), worker_ability=alpha,
                       item_difficulty=np.exp(-beta))
    log_other = np.log(k - 1)
    onehot = np.zeros((a.size, k), dtype=bool)
    onehot[np.arange(a.size), a.labels] = True
    log_prior = np.log(np.clip(p, EPS, None))
    w_idx, i_idx = a.workers, a.items
    answered = np.bincount(i_idx, minlength=a.n_items) > 0

    def e_step(al: np.ndarray, be: np.ndarray) -> tuple[np.ndarray, float]:
        ab = al[w_idx] * np.exp(be[i_idx])
        per = np.where(onehot, log_expit(ab)[:, None], (log_expit(-ab) - log_other)[:, None])
        logits = log_prior[None, :] + _per_item(a, per)
        norm = logsumexp(logits, axis=1, keepdims=True)
        log_post = (norm[answered].sum() - 0.5 * ((al - alpha_prior) ** 2).sum()
                    - 0.5 * ((be - beta_prior) ** 2).sum())
        return np.exp(logits - norm), float(log_post)

    def negative_q(x: np.ndarray, q: np.ndarray) -> tuple[float, np.ndarray]:
        al, be = x[: a.n_workers], x[a.n_workers:]
        eb = np.exp(be[i_idx])
        ab = al[w_idx] * eb
        value = (q * log_expit(ab) + (1.0 - q) * (log_expit(-ab) - log_other)).sum()
        value -= 0.5 * ((al - alpha_prior) ** 2).sum() + 0.5 * ((be - beta_prior) ** 2).sum()
        g = q - expit(ab)
        d_alpha = np.bincount(w_idx, weights=g * eb, minlength=a.n_workers) - (al - alpha_prior)
        d_beta = np.bincount(i_idx, weights=g * ab, minlength=a.n_items) - (be - beta_prior)
        return -float(value), -np.concatenate([d_alpha, d_beta])

    post, last = e_step(alpha, beta)
    iterations = 0
    x = np.concatenate([alpha, beta])
    for _ in range(n_iter):
        iterations += 1
        q = post[a.items, a.labels]  # posterior that each answer is right
        res = minimize(negative_q, x, args=(q,), jac=True, method=m_step_method, tol=m_step_tol,
                       options={"maxiter": m_step_max_iter})
        x = res.x
        alpha, beta = x[: a.n_workers], x[a.n_workers:]
        post, value = e_step(alpha, beta)
        if (value - last) / a.size < tol:
            break
        last = value
    ab = alpha[w_idx] * np.exp(beta[i_idx])
    seen = np.bincount(w_idx, minlength=a.n_workers)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.where(seen > 0, np.bincount(w_idx, weights=expit(ab), minlength=a.n_workers)
                            / np.where(seen > 0, seen, 1), np.nan)
    return _finish("glad", a, post, p, accuracy, iterations=iterations, worker_ability=alpha,
                   item_difficulty=np.exp(-beta))


def glad_log_posterior(data: Answers | tuple[Any, Any, Any], alpha: Any, beta: Any, *, priors: Any = None,
                       alpha_prior: float = 1.0, beta_prior: float = 1.0, **counts: int | None) -> float:
    """GLAD's MAP objective for given parameters (``beta`` is the log inverse difficulty):
    the marginal log-likelihood of the answers plus the Gaussian log priors (without constants)."""
    a = _as_answers(data, **counts)
    k = a.n_classes
    p = np.full(k, 1.0 / k) if priors is None else np.asarray(priors, dtype=float)
    al, be = np.asarray(alpha, dtype=float), np.asarray(beta, dtype=float)
    ab = al[a.workers] * np.exp(be[a.items])
    onehot = np.arange(k)[None, :] == a.labels[:, None]
    per = np.where(onehot, log_expit(ab)[:, None], (log_expit(-ab) - np.log(k - 1))[:, None])
    logits = np.log(np.clip(p, EPS, None))[None, :] + _per_item(a, per)
    answered = np.bincount(a.items, minlength=a.n_items) > 0
    return float(logsumexp(logits, axis=1)[answered].sum() - 0.5 * ((al - alpha_prior) ** 2).sum()
                 - 0.5 * ((be - beta_prior) ** 2).sum())


# -- one-coin posterior (dynamic overlap) ----------------------------------------------------------

def _accuracies(values: Any, n: int) -> np.ndarray:
    acc = np.asarray(values, dtype=float)
    if acc.shape != (n,) or not np.all(np.isfinite(acc)) or np.any((acc < 0) | (acc > 1)):
        raise ValidationFailed(Msg("accuracies: need {n} numbers from 0 to 1, one per answer", n=n), field="accuracies")
    return np.clip(acc, 1e-6, 1 - 1e-6)


def _class_prior(prior: Any, k: int) -> np.ndarray:
    if prior is None:
        return np.full(k, 1.0 / k)
    p = np.asarray(prior, dtype=float)
    if p.shape != (k,) or np.any(p < 0) or not np.isclose(p.sum(), 1.0):
        raise ValidationFailed(Msg("prior: need {k} probabilities that sum to 1", k=k), field="prior")
    return p


def one_coin_posteriors(
    items: Any, labels: Any, accuracies: Any, *, n_items: int, n_classes: int, prior: Any = None
) -> np.ndarray:
    """Posterior over classes per item under the one-coin model.

    Answer ``r`` (item ``items[r]``, class ``labels[r]``) comes from a worker who is right with
    probability ``accuracies[r]`` and otherwise picks one of the other ``n_classes - 1`` classes
    uniformly: ``P(z = c | answers) ∝ prior[c] * prod_r (acc_r if label_r == c else (1 - acc_r) / (K - 1))``.
    Items without answers get the prior.
    """
    if n_classes < 1:
        raise ValidationFailed(Msg("n_classes: must be at least 1"), field="n_classes")
    a = answers(items, np.zeros(len(np.asarray(labels)), dtype=np.int64), labels,
                n_items=n_items, n_workers=1, n_classes=n_classes)
    acc = _accuracies(accuracies, a.size)
    p = _class_prior(prior, n_classes)
    if n_classes == 1:
        return np.ones((n_items, 1))
    right = np.log(acc)
    wrong = np.log((1.0 - acc) / (n_classes - 1))
    onehot = np.zeros((a.size, n_classes), dtype=bool)
    onehot[np.arange(a.size), a.labels] = True
    per = np.where(onehot, right[:, None], wrong[:, None])
    return _softmax_rows(np.log(np.clip(p, EPS, None))[None, :] + _per_item(a, per))


def one_coin_posterior(labels: Sequence[int], accuracies: Sequence[float], n_classes: int,
                       prior: Any = None) -> np.ndarray:
    """The posterior over classes of one item given its answers so far (see :func:`one_coin_posteriors`)."""
    n = len(labels)
    return one_coin_posteriors(np.zeros(n, dtype=np.int64), labels, accuracies, n_items=1,
                               n_classes=n_classes, prior=prior)[0]


# -- boxes -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AggregatedBox:
    label: str
    x: float
    y: float
    w: float
    h: float
    support: int  # how many workers drew it
    workers: tuple[int, ...]  # their positions in the input
    mean_iou: float  # mean IoU of the members with the aggregate box

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "x": self.x, "y": self.y, "w": self.w, "h": self.h}


def _box(value: Any, where: str) -> tuple[str, np.ndarray]:
    if isinstance(value, Mapping):
        try:
            label, coords = value["label"], [value[c] for c in ("x", "y", "w", "h")]
        except KeyError as exc:
            field = f"{where}.{exc.args[0]}"
            raise ValidationFailed(Msg("{field}: this field is required", field=field), field=field) from None
    elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 5:
        label, coords = value[0], list(value[1:])
    else:
        raise ValidationFailed(Msg("{field}: a box is {{label, x, y, w, h}} or (label, x, y, w, h)", field=where),
                               field=where)
    if not isinstance(label, str):
        field = f"{where}.label"
        raise ValidationFailed(Msg("{field}: must be a string", field=field), field=field)
    for name, v in zip("xywh", coords, strict=True):
        if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
            field = f"{where}.{name}"
            raise ValidationFailed(Msg("{field}: must be a finite number, got {got!r}", field=field, got=v),
                                   field=field)
    arr = np.asarray(coords, dtype=float)
    if arr[2] <= 0 or arr[3] <= 0:
        field = f"{where}.{'w' if arr[2] <= 0 else 'h'}"
        raise ValidationFailed(Msg("{field}: box width and height must be above 0", field=field), field=field)
    return label, arr


def aggregate_boxes(
    per_worker: Sequence[Sequence[Any]], *, iou: float = 0.5, min_support: int | None = None,
    method: Literal["mean", "median"] = "mean",
) -> list[AggregatedBox]:
    """Merge the boxes several workers drew on one image.

    ``per_worker[k]`` is worker k's list of boxes (``{label, x, y, w, h}`` or a 5-tuple). Workers
    are taken in order; each worker's boxes are paired with the clusters so far (same label,
    IoU with the cluster's current average >= ``iou``) by the Hungarian algorithm, unpaired
    boxes open new clusters, so a cluster holds at most one box per worker. Clusters drawn by at
    least ``min_support`` workers (default: a majority, ``len(per_worker) // 2 + 1``) are
    returned, their coordinates averaged (``method``), most supported first.
    """
    if not 0.0 <= iou <= 1.0:
        raise ValidationFailed(Msg("iou: must be from 0 to 1, got {got!r}", got=iou), field="iou")
    if method not in ("mean", "median"):
        raise ValidationFailed(Msg("method: must be 'mean' or 'median', got {got!r}", got=method), field="method")
    n_workers = len(per_worker)
    need = n_workers // 2 + 1 if min_support is None else min_support
    if need < 1:
        raise ValidationFailed(Msg("min_support: must be at least 1, got {got}", got=need), field="min_support")
    reduce = np.mean if method == "mean" else np.median
    clusters: list[dict[str, Any]] = []  # label, members [(worker, coords)], centre

    for k, boxes in enumerate(per_worker):
        parsed = [_box(b, f"answers[{k}][{j}]") for j, b in enumerate(boxes)]
        if not parsed:
            continue
        sim = np.zeros((len(parsed), len(clusters)))
        for j, (label, coords) in enumerate(parsed):
            for c, cl in enumerate(clusters):
                if cl["label"] == label:
                    sim[j, c] = box_iou(tuple(coords), tuple(cl["centre"]))
        pairs = hungarian_match(sim, iou) if clusters else []
        paired = {j: c for j, c, _s in pairs}
        for j, (label, coords) in enumerate(parsed):
            if j in paired:
                cl = clusters[paired[j]]
                cl["members"].append((k, coords))
                cl["centre"] = reduce(np.stack([m[1] for m in cl["members"]]), axis=0)
            else:
                clusters.append({"label": label, "members": [(k, coords)], "centre": coords.copy()})

    out = []
    for cl in clusters:
        if len(cl["members"]) < need:
            continue
        centre = cl["centre"]
        ious = [box_iou(tuple(m[1]), tuple(centre)) for m in cl["members"]]
        x, y, w, h = (float(v) for v in centre)
        out.append(AggregatedBox(cl["label"], x, y, w, h, support=len(cl["members"]),
                                 workers=tuple(m[0] for m in cl["members"]), mean_iou=float(np.mean(ious))))
    out.sort(key=lambda b: (-b.support, b.label, b.y, b.x))
    return out


# -- keypoints -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AggregatedKeypoints:
    points: list[tuple[float, float, int]]  # (x, y, visibility); (0, 0, 0) where too few placed it
    support: list[int]  # per point: how many workers placed it
    spread: list[float]  # per point: root mean square distance of the placements to the aggregate (nan if not placed)


def aggregate_keypoints(
    per_worker: Sequence[Sequence[Sequence[float]]], *, min_support: int | None = None,
    method: Literal["median", "mean"] = "median",
) -> AggregatedKeypoints:
    """Merge one keypoint set per worker (same length, ``(x, y, v)`` per point).

    A point is placed in the aggregate when at least ``min_support`` workers placed it (v > 0;
    default a majority); its position is the per-coordinate median (robust to one stray click) or
    mean of those placements, its visibility 2 (visible) unless more of them said 1 (occluded).
    """
    if method not in ("mean", "median"):
        raise ValidationFailed(Msg("method: must be 'mean' or 'median', got {got!r}", got=method), field="method")
    if not per_worker:
        return AggregatedKeypoints([], [], [])
    arrays: list[np.ndarray] = []
    for k, pts in enumerate(per_worker):
        arr = np.asarray(pts, dtype=float)
        field = f"answers[{k}]"
        if arr.ndim != 2 or arr.shape[1] != 3 or not np.all(np.isfinite(arr)):
            raise ValidationFailed(Msg("{field}: a keypoint set is a list of (x, y, v)", field=field), field=field)
        if not np.all(np.isin(arr[:, 2], (0, 1, 2))):
            raise ValidationFailed(Msg("{field}: visibility must be 0, 1 or 2", field=field), field=field)
        if arrays and arr.shape[0] != arrays[0].shape[0]:
            raise ValidationFailed(Msg("{field}: expected {expected} points, got {got}", field=field,
                                       expected=arrays[0].shape[0], got=arr.shape[0]), field=field)
        arrays.append(arr)
    stack = np.stack(arrays)  # (workers, points, 3)
    need = len(arrays) // 2 + 1 if min_support is None else min_support
    if need < 1:
        raise ValidationFailed(Msg("min_support: must be at least 1, got {got}", got=need), field="min_support")
    placed = stack[:, :, 2] > 0
    support = placed.sum(axis=0)
    points: list[tuple[float, float, int]] = []
    spread: list[float] = []
    reduce = np.median if method == "median" else np.mean
    for j in range(stack.shape[1]):
        mask = placed[:, j]
        if support[j] < need or not mask.any():
            points.append((0.0, 0.0, 0))
            spread.append(float("nan"))
            continue
        xy = stack[mask, j, :2]
        centre = reduce(xy, axis=0)
        vis = stack[mask, j, 2]
        v = 1 if (vis == 1).sum() > (vis == 2).sum() else 2
        points.append((float(centre[0]), float(centre[1]), v))
        spread.append(float(np.sqrt(((xy - centre) ** 2).sum(axis=1).mean())))
    return AggregatedKeypoints(points, [int(s) for s in support], spread)
