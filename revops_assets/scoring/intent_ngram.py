"""A light learned refinement of the intent rules, with no torch: per type, a calibrated logistic
regression over TF-IDF word (1-2) and character (3-5, within words) n-grams of the headline plus the
rules' four per-type confidences (``method="ngram"``).

Why: the rules fit every development set but generalise poorly; the MiniLM hybrid generalises better
but costs a ~10 s model load per process. Bag-of-n-gram features need nothing but the standard
library and numpy at classify time: the weights file loads in a few tens of milliseconds and a text
costs about as much as the rules themselves.

Text normalisation before the n-grams (``analyze``): lower case; money amounts ("$20 million",
"€50m", "Rs 1,800 crore") become the token ``zmoney`` and other numbers ``znum``, so an amount's size
or currency is not a feature; tokens are runs of letters. Features: ``w:<token>``, ``b:<token>
<token>`` and ``c:<3-5 chars>`` of each token padded with spaces; a feature must occur in >= 2
training texts. Each text's TF (1 + log count) x IDF (smooth) vector is L2-normalised; the four rule
confidences are appended as they are.

The weights (``intent_ngram_weights.json``, next to this file) hold the vocabulary (in feature-index
order), the IDF, per type the coefficients (Platt calibration folded in, so ``sigmoid(w . x + b)`` is
the calibrated probability) and threshold, the training-data hash and the spec. Training (``python -m
revops_assets.scoring.intent_ngram train``; ``check`` compares a retrain with the committed file)
reads the dev set, the fresh set, v2, v3, v4 and (since round 4 of the rules, when v5 stopped being a
holdout) v5 -- never v6, the frozen holdout. Rule features are honest where history
allows, exactly as for the hybrid (``intent_model.RULES_AT``: the last rules version not tuned on a
set; the dev set, which the rules were built on, uses the current rules), and calibration and
thresholds come from out-of-fold probabilities on the honest rows only; a threshold is the one with
the highest out-of-fold recall at precision >= ``TARGET_PRECISION``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import threading
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from revops_assets.scoring import intent as rules
from revops_assets.scoring import intent_model

WEIGHTS_PATH = Path(__file__).with_name("intent_ngram_weights.json")
DATA = intent_model.DATA
TRAIN_FILES = ("intent_devset.jsonl", "intent_holdout_fresh.jsonl", "intent_holdout_v2.jsonl",
               "intent_holdout_v3.jsonl", "intent_holdout_v4.jsonl", "intent_holdout_v5.jsonl")
SPEC = "ngram-v1: lower; money->zmoney, numbers->znum; w:1-gram b:2-gram c:3-5 chars in ' token '; min_df 2; tf 1+log x idf smooth, L2; + 4 rule confidences"
MIN_DF = 2
CHARS = (3, 5)
C = 4.0  # L2 strength, fixed (as the hybrid's) before any evaluation on v5
TARGET_PRECISION = 0.9
FOLDS, SEED = 5, 0

log = logging.getLogger(__name__)
_weights: dict[str, Any] | None = None
_lock = threading.Lock()

_MONEY = re.compile(
    r"(?:[$€£¥₹]|\brs\.?\s?|\bus\$|\ba\$|\binr\s?)\s?\d[\d,.]*\s?(?:k|m|mn|mln|b|bn|billion|million|crore|cr|lakh|trillion|tn)?\b"
    r"|\b\d[\d,.]*\s?(?:million|billion|trillion|crore|lakh|bn|mn)\b")
_NUMBER = re.compile(r"\d[\d,.]*")
_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*|zmoney|znum")


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(_NUMBER.sub(" znum ", _MONEY.sub(" zmoney ", text.lower())))


def _token_features(tok: str) -> list[str]:
    """A token's own features: ``w:<token>`` and its character n-grams."""
    out = ["w:" + tok]
    p = " " + tok + " "
    for n in range(CHARS[0], CHARS[1] + 1):
        out += ["c:" + p[i:i + n] for i in range(max(1, len(p) - n + 1))]
    return out


def analyze(text: str) -> list[str]:
    """The n-gram features of one text (with repeats; see the module docstring)."""
    toks = _tokens(text)
    out = [f for t in toks for f in _token_features(t)]
    return out + ["b:" + a + " " + b for a, b in zip(toks, toks[1:])]


_CACHE_MAX = 200_000  # distinct tokens remembered per vocabulary (their feature ids), then the cache restarts


def _feature_ids(text: str, index: dict[str, int], cache: dict[str, list[int]]) -> list[int]:
    """Vocabulary ids of ``analyze(text)`` (with repeats, unknown features dropped); a token's own ids
    are cached, since headlines repeat words far more than they repeat texts."""
    toks = _tokens(text)
    ids: list[int] = []
    for t in toks:
        got = cache.get(t)
        if got is None:
            got = [i for i in (index.get(f) for f in _token_features(t)) if i is not None]
            if len(cache) >= _CACHE_MAX:
                cache.clear()
            cache[t] = got
        ids += got
    for a, b in zip(toks, toks[1:]):
        i = index.get("b:" + a + " " + b)
        if i is not None:
            ids.append(i)
    return ids


def training_hash(data_dir: Path = DATA) -> str:
    """sha256 of the training sets' bytes (in order), the rules versions used for their features and
    the feature spec."""
    h = hashlib.sha256(SPEC.encode() + b"\0")
    for name in TRAIN_FILES:
        h.update(name.encode() + b"\0" + (data_dir / name).read_bytes() + b"\0"
                 + intent_model.RULES_AT.get(name, "HEAD").encode())
    return h.hexdigest()


def load_weights(path: Path = WEIGHTS_PATH) -> dict[str, Any]:
    """The weights file, with numpy arrays and the vocabulary index built (cached for the shipped file)."""
    global _weights
    with _lock:
        if _weights is not None and path == WEIGHTS_PATH:
            return _weights
        import numpy as np

        raw = json.loads(path.read_text(encoding="utf-8"))
        w = dict(raw)
        w["index"] = {f: i for i, f in enumerate(raw["vocab"])}
        w["idf_arr"] = np.asarray(raw["idf"], dtype=np.float64)
        w["coef_arr"] = np.array([raw["types"][k]["coef"] for k in raw["kinds"]], dtype=np.float64).T  # (features, kinds)
        w["intercept_arr"] = np.array([raw["types"][k]["intercept"] for k in raw["kinds"]], dtype=np.float64)
        w["threshold_arr"] = np.array([raw["types"][k]["threshold"] for k in raw["kinds"]], dtype=np.float64)
        if path == WEIGHTS_PATH:
            _weights = w
        return w


def _sparse_rows(texts: Sequence[str], index: dict[str, int], idf: Any,
                 cache: dict[str, list[int]] | None = None) -> tuple[Any, Any, Any]:
    """(row ids, feature ids, values) of the L2-normalised TF-IDF rows, in a deterministic order."""
    import numpy as np

    cache = {} if cache is None else cache
    rows: list[int] = []
    cols: list[int] = []
    counts: list[int] = []
    for r, text in enumerate(texts):
        c = Counter(_feature_ids(text, index, cache))
        ids = sorted(c)
        rows += [r] * len(ids)
        cols += ids
        counts += [c[i] for i in ids]
    rr, cc = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    v = (1.0 + np.log(np.asarray(counts, dtype=np.float64))) * np.asarray(idf, dtype=np.float64)[cc]
    norms = np.sqrt(np.bincount(rr, weights=v * v, minlength=len(texts)))
    return rr, cc, v / np.where(norms > 0, norms, 1.0)[rr]


def probabilities(texts: Sequence[str], rule_feats: Sequence[Sequence[float]], weights: dict[str, Any] | None = None) -> Any:
    """Calibrated probability per text and type (n x 4)."""
    import numpy as np

    w = weights or load_weights()
    n, nv = len(texts), len(w["vocab"])
    r, c, v = _sparse_rows(texts, w["index"], w["idf_arr"], w.setdefault("token_cache", {}))
    coef = w["coef_arr"]
    logits = np.zeros((n, coef.shape[1]))
    if len(r):
        contrib = coef[c] * v[:, None]
        for k in range(coef.shape[1]):
            logits[:, k] = np.bincount(r, weights=contrib[:, k], minlength=n)
    logits += np.asarray(rule_feats, dtype=np.float64).reshape(n, -1) @ coef[nv:] + w["intercept_arr"]
    return 1.0 / (1.0 + np.exp(-logits))


def refine(texts: Sequence[str], rule_signals: Sequence[list[rules.Signal]]) -> list[list[rules.Signal]]:
    """N-gram signals for non-empty texts given their rule signals: a type fires when its calibrated
    probability reaches its threshold; ``matched`` is the rule span when a rule fired, else ""."""
    w = load_weights()
    kinds = w["kinds"]
    probs = probabilities(texts, intent_model.rule_features(rule_signals, kinds), w)
    out: list[list[rules.Signal]] = []
    for sigs, row in zip(rule_signals, probs):
        spans = {s.type: s.matched for s in sigs}
        found = [rules.Signal(k, round(float(p), 3), spans.get(k, ""), "ngram")
                 for k, p, t in zip(kinds, row, w["threshold_arr"]) if p >= t]
        found.sort(key=lambda s: -s.confidence)
        out.append(found)
    return out


# --- training ------------------------------------------------------------------------------------
def training_rows(data_dir: Path = DATA) -> tuple[list[str], Any, Any, Any, Any]:
    """(texts, rule features n x 4, labels n x 4, honest-row mask, set index per row): the hybrid's
    labelled rows (``intent_model.labelled_rows``) of this module's training files."""
    return intent_model.labelled_rows(data_dir, TRAIN_FILES)


def fit_vocab(texts: Sequence[str]) -> tuple[list[str], list[float]]:
    """Features in >= MIN_DF texts (sorted), and their smooth IDF."""
    df: Counter[str] = Counter()
    for t in texts:
        df.update(set(analyze(t)))
    vocab = sorted(f for f, c in df.items() if c >= MIN_DF)
    n = len(texts)
    return vocab, [math.log((1 + n) / (1 + df[f])) + 1.0 for f in vocab]


def design(texts: Sequence[str], rule_feats: Any, vocab: Sequence[str], idf: Sequence[float]) -> Any:
    """The sparse design matrix [TF-IDF n-grams, rule confidences] (scipy CSR; training only)."""
    import numpy as np
    from scipy import sparse

    index = {f: i for i, f in enumerate(vocab)}
    r, c, v = _sparse_rows(texts, index, np.asarray(idf))
    tfidf = sparse.csr_matrix((v, (r, c)), shape=(len(texts), len(vocab)))
    return sparse.hstack([tfidf, sparse.csr_matrix(np.asarray(rule_feats, dtype=np.float64))]).tocsr()


def _fit_all(texts: Sequence[str], rule_feats: Any, y: Any, honest: Any) -> dict[str, Any]:
    """Vocabulary, IDF and per-type (folded coef, intercept, threshold, slope) from these rows only."""
    vocab, idf = fit_vocab(texts)
    x = design(texts, rule_feats, vocab, idf)
    types = {}
    for k, kind in enumerate(rules.TYPES):
        coef, threshold, slope, _ = intent_model._fit_type(x, y[:, k], honest, SEED, C, TARGET_PRECISION)
        types[kind] = {"coef": coef[:-1], "intercept": float(coef[-1]), "threshold": threshold, "slope": slope}
    return {"vocab": vocab, "idf": idf, "types": types}


def _predict(fit: dict[str, Any], texts: Sequence[str], rule_feats: Any) -> Any:
    import numpy as np

    x = design(texts, rule_feats, fit["vocab"], fit["idf"])
    fire = np.zeros((len(texts), len(rules.TYPES)), bool)
    for k, kind in enumerate(rules.TYPES):
        t = fit["types"][kind]
        fire[:, k] = 1.0 / (1.0 + np.exp(-(x @ t["coef"] + t["intercept"]))) >= t["threshold"]
    return fire


def cross_validate(texts: list[str], rule_feats: Any, y: Any, honest: Any, sets: Any, seed: int = 1) -> dict[str, Any]:
    """Out-of-sample figures on the training sets, each fold's vocabulary, model and thresholds from
    its training part only: 5-fold CV (stratified by any label x honesty) on all rows and on the honest
    rows, and leave-one-set-out on v3, v4 and v5 (trained on the other sets: the nearest thing to a
    set written later by someone else); beside the rules alone (their feature > 0) on the same rows."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    fire = np.zeros(y.shape, bool)
    strata = (y.any(axis=1).astype(int) * 2 + honest).astype(int)
    for tr, te in StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(rule_feats, strata):
        fire[te] = _predict(_fit_all([texts[i] for i in tr], rule_feats[tr], y[tr], honest[tr]), [texts[i] for i in te], rule_feats[te])
    rule_fire = rule_feats[:, :len(rules.TYPES)] > 0
    out: dict[str, Any] = {}
    for name, f, mask in (("ngram_all", fire, slice(None)), ("ngram_honest", fire, honest),
                          ("rules_all", rule_fire, slice(None)), ("rules_honest", rule_fire, honest)):
        out[name] = {kind: intent_model._prf(f[mask][:, k], y[mask][:, k]) for k, kind in enumerate(rules.TYPES)}
    for held in ("intent_holdout_v3.jsonl", "intent_holdout_v4.jsonl", "intent_holdout_v5.jsonl"):
        s = TRAIN_FILES.index(held)
        tr, te = np.where(sets != s)[0], np.where(sets == s)[0]
        f = _predict(_fit_all([texts[i] for i in tr], rule_feats[tr], y[tr], honest[tr]), [texts[i] for i in te], rule_feats[te])
        tag = held.removeprefix("intent_holdout_").removesuffix(".jsonl")
        out[f"ngram_loso_{tag}"] = {kind: intent_model._prf(f[:, k], y[te, k]) for k, kind in enumerate(rules.TYPES)}
        out[f"rules_loso_{tag}"] = {kind: intent_model._prf(rule_fire[te, k], y[te, k]) for k, kind in enumerate(rules.TYPES)}
    return out


def train(data_dir: Path = DATA, with_cv: bool = True) -> dict[str, Any]:
    """Fit the weights from the training sets (deterministic: sorted vocabulary, fixed folds, lbfgs)."""
    import sklearn

    texts, rule_feats, y, honest, sets = training_rows(data_dir)
    fit = _fit_all(texts, rule_feats, y, honest)
    weights: dict[str, Any] = {
        "spec": SPEC, "kinds": list(rules.TYPES), "training_files": list(TRAIN_FILES),
        "rules_at": {k: v for k, v in intent_model.RULES_AT.items() if k in TRAIN_FILES},
        "training_sha256": training_hash(data_dir), "n_train": len(texts), "n_honest": int(honest.sum()),
        "C": C, "target_precision": TARGET_PRECISION, "folds": FOLDS, "seed": SEED, "sklearn": sklearn.__version__,
        "vocab": fit["vocab"], "idf": [float(f"{v:.6g}") for v in fit["idf"]], "types": {},
    }
    for kind in rules.TYPES:
        t = fit["types"][kind]
        weights["types"][kind] = {"coef": [float(f"{v:.5g}") for v in t["coef"]], "intercept": float(f"{t['intercept']:.6g}"),
                                  "threshold": round(t["threshold"], 4), "calibration_slope": round(t["slope"], 4)}
    if with_cv:
        weights["cv"] = cross_validate(texts, rule_feats, y, honest, sets)
    return weights


def same_weights(a: dict[str, Any], b: dict[str, Any], atol: float = 1e-3) -> bool:
    """Equal up to float noise: the same vocabulary and IDF, and per type what the hybrid's heads compare."""
    import numpy as np

    return (a["vocab"] == b["vocab"] and bool(np.allclose(a["idf"], b["idf"], atol=atol))
            and intent_model.same_head(a, b, atol))


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m revops_assets.scoring.intent_ngram",
                                     description="Retrain (or check) the n-gram intent weights from the labelled training sets.")
    parser.add_argument("command", choices=["train", "check"])
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH)
    args = parser.parse_args(argv)
    weights = train(with_cv=args.command == "train")
    if args.command == "check":
        committed = json.loads(args.out.read_text(encoding="utf-8"))
        ok = same_weights(committed, weights)
        print("committed weights match a retrain" if ok else "committed weights DIFFER from a retrain")
        return 0 if ok else 1
    args.out.write_text(json.dumps(weights, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: weights[k] for k in ("training_sha256", "n_train", "n_honest")}), "features", len(weights["vocab"]))
    for kind in weights["kinds"]:
        print(kind, "threshold", weights["types"][kind]["threshold"])
    for name, rep in weights["cv"].items():
        print(name, {k: (v["precision"], v["recall"], f"{v['tp']}/{v['fp']}/{v['fn']}") for k, v in rep.items()})
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
