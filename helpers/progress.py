"""Progress bars whose stored notebook output is the finished bar.

A notebook keeps what a cell printed. tqdm's notebook widget stores the plain
text of its *first* state (``classify:   0%|          | 0/200``), and tqdm's
text bar stores every redraw; on GitHub or nbviewer both read as a bar stuck
at 0%, and their timings change with every run, so nbval cannot compare them.

``progress_bar(...)`` is a tqdm bar that, inside a Jupyter kernel, shows the
live widget while it runs (the widget's output carries no plain text, so
nothing stale is stored) and, when it closes, hides the widget and prints one
line with the final count and no timing, e.g.
``classify: 100%|██████████| 200/200``. Outside a kernel (a terminal, a
script, a test) it is tqdm's ordinary text bar on stderr.

Hand-written only where tqdm has no switch for it: the final line and the
widget without a plain-text form; everything else is tqdm.
"""
from __future__ import annotations

import sys

from tqdm.std import tqdm as text_tqdm

FINAL_FORMAT = "{l_bar}{bar}| {n_fmt}/{total_fmt}{postfix}"
FINAL_FORMAT_NO_TOTAL = "{desc}: {n_fmt} done{postfix}"


def in_kernel() -> bool:
    """True inside a Jupyter (IPython) kernel, where a cell's output is stored."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ipython = shell.get_ipython()
    except AttributeError:
        return False
    return ipython is not None and getattr(ipython, "kernel", None) is not None


def final_line(bar) -> str:
    """The bar's final state as one line without timings (what a notebook keeps)."""
    postfix = getattr(bar, "postfix", None) or ""
    desc = getattr(bar, "desc", None) or ""
    if bar.total:
        return text_tqdm.format_meter(bar.n, bar.total, 0, prefix=desc, bar_format=FINAL_FORMAT,
                                      postfix=postfix or None, unit=getattr(bar, "unit", "it"),
                                      unit_scale=getattr(bar, "unit_scale", False))
    return FINAL_FORMAT_NO_TOTAL.format(desc=desc or "progress", n_fmt=bar.n,
                                        postfix=f", {postfix}" if postfix else "")


_WIDGET_CLASS = None


def _widget_class():
    """tqdm's notebook bar with a widget that has no plain-text form, ending in ``final_line``."""
    global _WIDGET_CLASS
    if _WIDGET_CLASS is not None:
        return _WIDGET_CLASS
    from tqdm.notebook import TqdmHBox, tqdm_notebook

    class _QuietBox(TqdmHBox):
        def _repr_mimebundle_(self, **kwargs):
            data = super()._repr_mimebundle_(**kwargs)
            if isinstance(data, tuple):  # (data, metadata)
                data = (dict(data[0]), data[1])
                data[0].pop("text/plain", None)
            elif isinstance(data, dict):
                data = dict(data)
                data.pop("text/plain", None)
            return data

        def _repr_pretty_(self, pp, *_, **__):
            pp.text("")  # IPython always adds text/plain; keep it empty, not the first state

    class StoredBar(tqdm_notebook):
        @staticmethod
        def status_printer(fp, total=None, desc=None, ncols=None):
            box = tqdm_notebook.status_printer(fp, total, desc, ncols)
            box.__class__ = _QuietBox
            return box

        def close(self):
            if self.disable:
                return
            finished = not self.total or self.n >= self.total
            self.leave = True  # tqdm's leave=False closes the widget model; hide it instead
            super().close()
            if finished:
                self.container.layout.display = "none"
            print(final_line(self), file=sys.stdout, flush=True)

    _WIDGET_CLASS = StoredBar
    return StoredBar


def progress_bar(*, total=None, desc: str | None = None, disable: bool = False, **kwargs):
    """A tqdm bar: a live widget and a final line in a notebook, a text bar elsewhere."""
    if not disable and in_kernel():
        try:
            return _widget_class()(total=total, desc=desc, **kwargs)
        except ImportError:  # no ipywidgets: count silently, print the final line
            return _Counter(total=total, desc=desc)
    return text_tqdm(total=total, desc=desc, disable=disable, file=sys.stderr, **kwargs)


class _Counter:
    """The parts of a tqdm bar the course uses, drawing only ``final_line`` at the end."""

    unit, unit_scale = "it", False

    def __init__(self, total=None, desc=None):
        self.total, self.desc, self.n, self.postfix, self.disable = total, desc, 0, "", False

    def update(self, n=1):
        self.n += n

    def set_postfix(self, refresh=True, **values):
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def refresh(self):
        pass

    def close(self):
        print(final_line(self), file=sys.stdout, flush=True)
