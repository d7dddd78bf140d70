"""Closed-loop benchmark, offline step metrics and the eval report (the gate's input).

* `metrics` - pure statistics: rates, bootstrap intervals, paired differences;
* `offline` - step metrics of greedy forecasts on held-out expert trajectories;
* `tasks` - which task seeds a split evaluates (the same ones `build_dataset` kept);
* `harness` - `evaluate_planners`: every policy on the same tasks → the report dict;
* `report` - the report schema, its checker, `report.json` / `metrics.json` / plots;
* `plots` - the matplotlib figures (Agg, imported lazily).

Submodules are imported on use, so importing this package costs nothing.
"""
