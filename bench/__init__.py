"""Performance benchmarks: each measures our code side by side with a reference, as ratios.

`python -m bench.run_all` (what `make bench` runs) runs them and writes
`bench/results.json` and `bench/results.md`. Every script also runs alone.
"""
