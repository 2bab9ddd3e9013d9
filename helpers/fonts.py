"""The CJK font for plots: WenQuanYi Micro Hei, shipped by the PyPI package
``paperang-p2-fonts-cjk`` (pinned in requirements.txt), so Chinese labels
render offline on any machine without system fonts. Emoji in labels (a class
named "🎮 Games") fall back glyph by glyph to Noto Emoji, shipped by
``manimgx-fonts``; without it matplotlib draws boxes and warns into the notebook.
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import matplotlib
from matplotlib import font_manager

FONT_PACKAGE = "paperang_p2_fonts_cjk"
FONT_FILE = "fonts/wqy-microhei.ttc"
EMOJI_PACKAGE = "manimgx_fonts"
EMOJI_FILE = "NotoEmoji[wght].ttf"


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


@lru_cache(maxsize=1)
def register_emoji_font() -> str | None:
    """Add the emoji fallback font; its family name, or None if the package is missing."""
    try:
        path = Path(str(resources.files(EMOJI_PACKAGE).joinpath(EMOJI_FILE)))
    except ModuleNotFoundError:
        return None
    if not path.is_file():
        return None
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


def use_cjk_font() -> str:
    """Make the CJK font the first choice (Latin text renders in it too), with the emoji
    font as a per-glyph fallback (matplotlib falls back along ``font.family``)."""
    name = register_cjk_font()
    emoji = register_emoji_font()
    rest = [f for f in matplotlib.rcParams["font.sans-serif"] if f not in (name, emoji)]
    matplotlib.rcParams["font.sans-serif"] = [name, *rest]
    matplotlib.rcParams["font.family"] = [name, emoji, "sans-serif"] if emoji else "sans-serif"
    return name
