"""Promotion: the pure eval gate, the pyfunc model flavor and the one MLflow registry adapter.

Importing this package imports nothing heavy; `gate` is pure, `pyfunc` and
`mlflow_registry` import MLflow inside their functions.
"""
