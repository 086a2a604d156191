"""distill-forensics: find adversarial-distillation campaigns in LLM API request logs.

The stages are packages, each importing only those below it (checked by import-linter,
``[tool.importlinter]`` in pyproject.toml): ``run`` > ``publish`` > ``validation`` >
``detection`` > ``linking`` > ``features`` > ``ingest``, over the foundation of
``registry``, ``settings``, ``warehouse`` and ``errors``.
"""

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
"""The checkout (or installed tree) the package sits in: ``sql/`` and ``data/sample/`` live
here, and relative paths in the DAGs' params are taken from here."""
SAMPLE_DIR = PROJECT_DIR / "data" / "sample"
