"""The built-in importers, one module per public format; importing this registers them all."""

from tracer1.data.importers.formats import (  # noqa: F401
    agentnet,
    androidcontrol,
    gaia,
    gta,
    gui_odyssey,
    mind2web,
)
