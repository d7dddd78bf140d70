"""Per-page MiniWoB experts: importing a module registers its pages (`expert_for`)."""

from __future__ import annotations

from tracer1.experts.miniwob import apps, forms  # noqa: F401
