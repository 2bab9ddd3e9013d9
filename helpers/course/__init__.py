"""Run the whole course: ``python -m helpers.course run --dataset ...``.

Notebooks import ``record_results`` from here; importing this package is cheap
(papermill is imported only when a run starts).
"""
from ..results import merged_results, read_results, record_results

__all__ = ["record_results", "read_results", "merged_results"]
