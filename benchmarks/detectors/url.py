"""URL detector benchmark: batch throughput (URLs/s on one core) and single-URL p50/p99 latency of the default
``UrlDetector.score``, as a ratio against a plain scikit-learn pipeline (char 1-5-gram ``TfidfVectorizer`` +
``LogisticRegression``) trained on the same rows and run in the same process, one BLAS thread each.

Both score the phishing-hannousse URLs (the baseline is trained on them; Aegis is the shipped default model,
trained on the same file). Runs alternate between the two so machine load hits both.

    .venv/bin/python benchmarks/detectors/url.py [--rounds 5] [--latency 1000]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import latencies_ms, throughput, write_results

from aegis.training.modelstore import load_model

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
URLS = SHARED / "datasets" / "urls" / "phishing-hannousse" / "train.csv"

Score = Callable[[list[str]], np.ndarray]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--latency", type=int, default=1000, help="single-URL calls per model")
    args = parser.parse_args()
    if not URLS.is_file():
        sys.exit(f"{URLS}: not found (the benchmark needs shared/datasets)")

    frame = pd.read_csv(URLS)
    urls, labels = frame["url"].tolist(), frame["label"].tolist()
    with threadpool_limits(1):
        aegis = load_model(None, "url").detector
        baseline = make_pipeline(TfidfVectorizer(analyzer="char", ngram_range=(1, 5), sublinear_tf=True, min_df=2),
                                 LogisticRegression(C=10, max_iter=3000)).fit(urls, labels)
        phishing = list(baseline.classes_).index("phishing")
        models: dict[str, Score] = {"aegis": aegis.score,
                                    "baseline": lambda xs: baseline.predict_proba(xs)[:, phishing]}
        rates: dict[str, list[float]] = {k: [] for k in models}
        for _ in range(args.rounds):
            for name, score in models.items():
                rates[name].append(throughput(score, urls)[0])
        sample = urls[: args.latency]
        lat = {name: latencies_ms(score, [[u] for u in sample]) for name, score in models.items()}

    stats = {
        name: {
            "urls_per_s_per_core": round(max(rates[name])),
            "latency_ms_p50": round(float(np.percentile(lat[name], 50)), 3),
            "latency_ms_p99": round(float(np.percentile(lat[name], 99)), 3),
        }
        for name in models
    }
    a, b = stats["aegis"], stats["baseline"]
    figures: dict[str, object] = {**stats, "ratio_vs_baseline": {
        "throughput": round(a["urls_per_s_per_core"] / b["urls_per_s_per_core"], 2),
        "latency_p50": round(a["latency_ms_p50"] / b["latency_ms_p50"], 2),
        "latency_p99": round(a["latency_ms_p99"] / b["latency_ms_p99"], 2),
    }}
    figures["data"] = {"scored": "phishing-hannousse", "urls": len(urls),
                       "mean_chars": round(float(np.mean([len(u) for u in urls])), 1), "threads": 1,
                       "rounds": args.rounds, "note": "best round; the machine may be shared"}
    path = write_results("detectors_url", figures)
    print(path.read_text())


if __name__ == "__main__":
    main()
