"""Training curves: Trainer log history → rows → CSV, and the live log hook."""

from __future__ import annotations

import csv

from tracer1.training.curve import curve_rows, make_callback, write_curve

HISTORY = [
    {"loss": 2.0, "learning_rate": 1e-3, "epoch": 0.1, "step": 1},
    {"loss": 1.5, "mean_token_accuracy": 0.4, "epoch": 0.2, "step": 2},
    {"train_runtime": 3.2, "train_loss": 1.7, "epoch": 0.2, "step": 2},  # end-of-run summary
]


def test_rows_skip_the_summary_and_non_numbers():
    rows = curve_rows([*HISTORY, {"note": "text", "step": 3}])
    assert rows == [
        {"step": 1.0, "loss": 2.0, "learning_rate": 1e-3},
        {"step": 2.0, "loss": 1.5, "mean_token_accuracy": 0.4},
    ]


def test_write_curve_csv(tmp_path):
    path = tmp_path / "plots" / "sft.csv"
    write_curve(path, curve_rows(HISTORY))
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["step", "learning_rate", "loss", "mean_token_accuracy"]
    assert rows[1] == {"step": "2", "learning_rate": "", "loss": "1.5",
                       "mean_token_accuracy": "0.4"}


def test_callback_forwards_step_metrics():
    seen = []
    callback = make_callback(lambda step, metrics: seen.append((step, metrics)))

    class State:
        global_step = 7

    callback.on_log(None, State(), None, logs={"loss": 1.0, "epoch": 0.5})
    callback.on_log(None, State(), None, logs={"train_runtime": 1.0})
    assert seen == [(7, {"loss": 1.0})]
