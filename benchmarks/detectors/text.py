"""Text detector benchmark: batch throughput (texts/s on one core, and CPU time per text) and single-text
p50/p99 latency of ``TextDetector.score``, as a ratio against a plain scikit-learn pipeline (char 1-4-gram
``TfidfVectorizer`` + ``LogisticRegression``) trained on the same rows and run in the same process, one BLAS
thread each.

Both are trained on the Aegis corpus; they score telecom-fraud-texts-5 (real SMS-length texts) when
shared/ is present, else the corpus itself. Runs alternate between the two so machine load hits both.

    .venv/bin/python benchmarks/detectors/text.py [--rounds 5] [--latency 1000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import latencies_ms, throughput, write_results

from aegis.detectors.text import TextDetector
from aegis.training.text import read_csv
from aegis.training.text_default import build_corpus

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
SMS = SHARED / "datasets" / "text" / "telecom-fraud-texts-5" / "train.csv"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--latency", type=int, default=1000, help="single-text calls per model")
    args = parser.parse_args()

    corpus = build_corpus()
    train_x, train_y = corpus["text"].tolist(), corpus["label"].tolist()
    texts = read_csv(SMS, labelled=False)[0] if SMS.is_file() else train_x
    with threadpool_limits(1):
        aegis = TextDetector().fit(train_x, train_y)
        baseline = make_pipeline(TfidfVectorizer(analyzer="char", ngram_range=(1, 4), sublinear_tf=True, min_df=2),
                                 LogisticRegression(C=30, max_iter=3000)).fit(train_x, train_y)
        normal = list(baseline.classes_).index("normal")
        models = {"aegis": aegis.score, "baseline": lambda xs: 1 - baseline.predict_proba(xs)[:, normal]}
        rates: dict[str, list[tuple[float, float]]] = {k: [] for k in models}
        for _ in range(args.rounds):
            for name, score in models.items():
                rates[name].append(throughput(score, texts))
        sample = texts[: args.latency]
        lat = {name: latencies_ms(score, [[t] for t in sample]) for name, score in models.items()}

    figures = {
        name: {
            "texts_per_s_per_core": round(max(r for r, _ in rates[name])),
            "cpu_us_per_text": round(min(c for _, c in rates[name]), 2),
            "latency_ms_p50": round(float(np.percentile(lat[name], 50)), 3),
            "latency_ms_p99": round(float(np.percentile(lat[name], 99)), 3),
        }
        for name in models
    }
    figures["ratio_vs_baseline"] = {
        "throughput": round(figures["aegis"]["texts_per_s_per_core"] / figures["baseline"]["texts_per_s_per_core"], 2),
        "cpu_per_text": round(figures["aegis"]["cpu_us_per_text"] / figures["baseline"]["cpu_us_per_text"], 2),
        "latency_p50": round(figures["aegis"]["latency_ms_p50"] / figures["baseline"]["latency_ms_p50"], 2),
        "latency_p99": round(figures["aegis"]["latency_ms_p99"] / figures["baseline"]["latency_ms_p99"], 2),
    }
    figures["data"] = {"scored": "telecom-fraud-texts-5" if SMS.is_file() else "aegis corpus", "texts": len(texts),
                       "mean_chars": round(float(np.mean([len(t) for t in texts])), 1), "threads": 1,
                       "rounds": args.rounds, "note": "best round; the machine may be shared"}
    path = write_results("detectors_text", figures)
    print(path.read_text())


if __name__ == "__main__":
    main()
