"""The CJK font for plots: WenQuanYi Micro Hei, shipped by the PyPI package
``paperang-p2-fonts-cjk`` (pinned in requirements.txt), so Chinese labels
render offline on any machine without system fonts.
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import matplotlib
from matplotlib import font_manager

FONT_PACKAGE = "paperang_p2_fonts_cjk"
FONT_FILE = "fonts/wqy-microhei.ttc"


def cjk_font_path() -> Path:
    """Path of the shipped .ttc file."""
    path = Path(str(resources.files(FONT_PACKAGE).joinpath(FONT_FILE)))
    if not path.is_file():
        raise FileNotFoundError(f"{path}: CJK font missing; reinstall {FONT_PACKAGE} "
                                "(pip install -r requirements.txt)")
    return path


@lru_cache(maxsize=1)
def register_cjk_font() -> str:
    """Add the font to matplotlib's font manager; returns its family name."""
    path = cjk_font_path()
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


def use_cjk_font() -> str:
    """Make the CJK font the first sans-serif choice (Latin text renders in it too)."""
    name = register_cjk_font()
    matplotlib.rcParams["font.family"] = "sans-serif"
    rest = [f for f in matplotlib.rcParams["font.sans-serif"] if f != name]
    matplotlib.rcParams["font.sans-serif"] = [name, *rest]
    return name
