"""Shared helpers for the course notebooks.

Importing the package makes tiktoken work offline (see ``helpers.tokenizers``).
Each submodule has one concern; notebooks import what they use, e.g.
``from helpers import config, clients``.
"""
from . import tokenizers as _tokenizers

_tokenizers.install()

__all__ = ["config", "clients"]
