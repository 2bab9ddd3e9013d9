"""Import a notebook's modules in its kernel before its first cell (see ``kernels``).

Run by the kernel's ``exec_lines``; defines no name in the notebook's namespace
and prints nothing: a module that fails to import here fails again, visibly,
in the notebook's own import cell.
"""
from __future__ import annotations

import contextlib
import importlib
import sys
import time

ENCODING = "encoding:"  # an entry "encoding:NAME" loads tiktoken's NAME (cached per process)


def warm(modules) -> None:
    started = time.perf_counter()
    for name in modules:
        if name.startswith(ENCODING):
            try:
                import tiktoken

                tiktoken.get_encoding(name[len(ENCODING):])
            except Exception:
                pass
            continue
        try:
            importlib.import_module(name)
        except ImportError:
            parent = name.rpartition(".")[0]  # ``from pkg import name`` where name is not a module
            if parent:
                with contextlib.suppress(Exception):
                    importlib.import_module(parent)
        except Exception:
            pass
    print(f"[course warm-up] imported {len(modules)} modules and encodings in "
          f"{time.perf_counter() - started:.2f} s", file=sys.__stderr__, flush=True)
