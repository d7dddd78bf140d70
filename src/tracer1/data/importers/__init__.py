"""Importers: public GUI-agent / tool-use datasets on disk -> our trajectory schema.

One module per format under `formats/` (AndroidControl, GUI-Odyssey,
Multimodal-Mind2Web, AgentNet, GAIA, GTA), each registered by name and each
documenting its action-mapping table. The output is a trajectory directory
(``{train,val,test}.jsonl`` + ``screenshots/`` + ``attachments/``) that
`validate_dataset` and every later stage read unchanged.

* `api`         — `import_dataset(format, source, out_dir, strict=...)` -> `ImportReport`;
* `registry`    — the `Importer` contract, `register_importer`, `importer_names`;
* `draft`       — `Draft` / `DraftStep`: a source episode mapped into our actions;
* `assemble`    — draft -> `Episode` (ids, seeds, checks the validator would make);
* `splits`      — `SplitRule` and `assign_splits` (stable, leak-free, non-empty);
* `archive`     — safe zip / tar extraction; `tfrecord` — TFRecord without TensorFlow;
* `grid`, `images`, `fields`, `sources`, `errors` — small shared helpers;
* `conventions` — the benchmarks' own scoring rules (14% tap tolerance, GAIA match, GTA).

Nothing is imported eagerly beyond this package's own small modules: Pillow and
pyarrow load on first use, the formats on the first registry look-up.

>>> importer_names()
('agentnet', 'androidcontrol', 'gaia', 'gta', 'gui_odyssey', 'mind2web')
"""

from tracer1.data.importers.api import ImportReport, import_dataset
from tracer1.data.importers.errors import ArchiveError, FieldError, ImportFailed, RecordError
from tracer1.data.importers.registry import (
    Importer,
    Record,
    check_imports,
    get_importer,
    importer_names,
    register_importer,
)
from tracer1.data.importers.splits import SplitRule

__all__ = [
    "ArchiveError",
    "FieldError",
    "ImportFailed",
    "ImportReport",
    "Importer",
    "Record",
    "RecordError",
    "SplitRule",
    "check_imports",
    "get_importer",
    "import_dataset",
    "importer_names",
    "register_importer",
]
