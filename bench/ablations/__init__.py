"""The TraceR1 ablation study: arms as data (`arms`), the runner (`run`), the table (`table`)."""
