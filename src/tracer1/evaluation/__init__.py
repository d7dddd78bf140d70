"""Closed-loop benchmark, offline step metrics and the eval report (the gate's input).

* `metrics` - pure statistics: rates, Wilson and bootstrap intervals, paired differences;
* `offline` - step metrics of greedy forecasts on held-out expert trajectories;
* `tasks` - which task seeds a split evaluates (the same ones `build_dataset` kept);
* `harness` - `evaluate_planners`: every policy on the same tasks → the report dict;
* `report` - the report schema, its checker, `report.json` / `metrics.json` / plots;
* `zero_shot` - the untrained base model as the `base` policy (or a note why not);
* `plots` - the matplotlib figures (Agg, imported lazily).

Submodules are imported on use, so importing this package costs nothing.
"""
