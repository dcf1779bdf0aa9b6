"""The main job, end to end on a tiny city: every stage runs and its figures are consistent with the truth."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import numpy as np
import pandas as pd


def test_demo_runs_end_to_end(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "aegis.cli.main",
            "demo",
            "--people",
            "3000",
            "--days",
            "4",
            "--seed",
            "5",
            "--workdir",
            str(tmp_path / "demo"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    events = pd.read_parquet(tmp_path / "demo" / "city" / "events" / "call.parquet", columns=["event_id"])
    assert summary["ingested"]["call"]["stored"] == len(events)
    assert all(v["rejected"] == 0 for v in summary["ingested"].values())
    store = sqlite3.connect(tmp_path / "demo" / "aegis.db")
    labelled = dict(store.execute("select entity_type, sum(label not in ('0', 'normal', 'legitimate')) "
                                  "from risk_profile group by entity_type").fetchall())
    store.close()
    for name in ("number", "account", "domain"):
        quality = summary["detectors"][name]
        assert quality["entities"] > 0 and 0 <= quality["precision"] <= 1 and 0 <= quality["recall"] <= 1
        # flagged is what the store labels fraud (the model's own threshold), as `profiles refresh` counts it
        assert quality["flagged"] == labelled[name], (name, quality, labelled)
    assert summary["detectors"]["number"]["fraud"] > 0
    account = summary["detectors"]["account"]
    assert 0 < account["active_fraud"] <= account["fraud"] and 0 <= account["active_recall"] <= 1
    assert set(summary["decisions"]) == {"sms", "call", "transfer"}
    paid = summary["decisions"]["transfer"]
    assert 0 < paid["fraud"] < paid["sampled"] and sum(paid["actions"].values()) == paid["sampled"]
    assert summary["audit_entries"] > 0
    assert "warnings" in summary and "funds" in summary


def test_quality_splits_recall_by_the_fraud_entities_that_acted():
    from aegis.usecases.demo import _quality

    truth = pd.Series([True, True, True, False], index=["a", "b", "c", "d"])
    labelled = pd.Series([True, False, False, True], index=["a", "b", "c", "d"])
    quality = _quality(truth, labelled, active={"a", "b", "d"})
    assert (quality["fraud"], quality["recall"], quality["precision"]) == (3, 0.333, 0.5)
    # "d" acted but is no fraud; "c" is fraud but did nothing: neither counts among the acting fraud
    assert (quality["active_fraud"], quality["active_recall"]) == (2, 0.5)
    assert "active_recall" not in _quality(truth, labelled)


def test_a_precision_or_recall_with_nothing_to_measure_is_none_and_shown_blank():
    """0/0 was shown as 0.000 (0.0 in --json): read as "all wrong" or "none found" when nothing was measured."""
    from aegis.cli.main import _share
    from aegis.decisions.policy import Action
    from aegis.usecases.decisions import Decision
    from aegis.usecases.demo import _decision_figures, _quality

    index = ["a", "b"]
    none_flagged = _quality(pd.Series([True, False], index=index), pd.Series([False, False], index=index),
                            active=set())
    assert (none_flagged["precision"], none_flagged["recall"], none_flagged["active_recall"]) == (None, 0.0, None)
    no_fraud = _quality(pd.Series([False, False], index=index), pd.Series([True, False], index=index))
    assert (no_fraud["precision"], no_fraud["recall"]) == (0.0, None)
    passed = Decision(action=Action.allow, score=0.1, fraud_type=None, reasons=[], policy_version="test")
    figures = _decision_figures(np.array([False]), [passed])
    assert (figures["precision"], figures["recall"]) == (None, None)
    assert (_share(None), _share(0.0), _share(0.8312)) == ("", "0.000", "0.831")


def test_the_demo_replaces_only_its_own_folder(tmp_path):
    """A folder with someone's files is refused, untouched; an earlier demo's loses what that demo wrote only."""
    from typer.testing import CliRunner

    from aegis.cli.main import app
    from aegis.usecases.demo import MARK, _clear_workdir

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("important")
    refused = CliRunner().invoke(app, ["demo", "--workdir", str(mine)])
    assert refused.exit_code == 2 and refused.stderr.startswith(f"错误：--workdir：{mine}不是空的"), refused.output
    assert [p.name for p in mine.iterdir()] == ["notes.txt"] and (mine / "notes.txt").read_text() == "important"
    english = CliRunner().invoke(app, ["demo", "--workdir", str(mine / "notes.txt"), "--lang", "en"])
    assert english.exit_code == 2 and "is a file, where a folder is needed" in english.stderr

    earlier = tmp_path / "earlier"
    _clear_workdir(earlier)  # a new folder is made and marked
    (earlier / "city" / "events").mkdir(parents=True)
    (earlier / "aegis.db").write_text("old store")
    (earlier / "readme.txt").write_text("kept")
    _clear_workdir(earlier)
    assert sorted(p.name for p in earlier.iterdir()) == sorted([MARK, "readme.txt"])


def test_a_refused_option_leaves_the_earlier_demo_as_it_was(tmp_path):
    """Every option is checked before an earlier demo's city and store are removed: a typo cost them both."""
    from typer.testing import CliRunner

    from aegis.cli.main import app
    from aegis.simulate.config import MAX_PEOPLE
    from aegis.usecases.demo import MARK, _clear_workdir

    earlier = tmp_path / "demo"
    _clear_workdir(earlier)
    (earlier / "city" / "events").mkdir(parents=True)
    (earlier / "aegis.db").write_text("the earlier demo's store")
    for option, value, said in (
        ("--days", "367", "--days：至多366天（收到367）"),
        ("--seed", "-1", "--seed：须为0或以上"),
        ("--people", "99999999999999999999", f"--people：一个城市至多{MAX_PEOPLE:,}个居民"),
    ):
        refused = CliRunner().invoke(app, ["demo", "--workdir", str(earlier), option, value])
        assert refused.exit_code == 2 and refused.stderr.startswith(f"错误：{said}"), refused.output
        assert len(refused.stderr.splitlines()) == 1 and "模拟" not in refused.stderr
        assert sorted(p.name for p in earlier.iterdir()) == sorted([MARK, "aegis.db", "city"])
        assert (earlier / "aegis.db").read_text() == "the earlier demo's store"
    # in English the option heads the message and "days" stays a word ("between 1 and 366 --days" before)
    english = CliRunner().invoke(app, ["demo", "--workdir", str(earlier), "--days", "367", "--lang", "en"])
    assert english.stderr == "error: --days: at most 366 days (got 367)\n"
