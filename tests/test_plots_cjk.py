"""Plots draw Chinese labels with the shipped CJK font and no missing glyphs."""
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from helpers import fonts, plots  # noqa: E402
from helpers.metrics import confusion_frame  # noqa: E402

ZH = ["科技", "体育", "财经", "娱乐"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _draw(fig, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)" becomes an error
        fig.savefig(tmp_path / "fig.png")
    return tmp_path / "fig.png"


def test_font_comes_from_the_pypi_package():
    path = fonts.cjk_font_path()
    assert path.name == "wqy-microhei.ttc" and "paperang_p2_fonts_cjk" in str(path)
    assert fonts.use_cjk_font() == "WenQuanYi Micro Hei"
    assert matplotlib.rcParams["font.sans-serif"][0] == "WenQuanYi Micro Hei"


def test_without_the_font_chinese_glyphs_are_reported_missing(tmp_path):
    # Guards the test below: the warnings-as-errors check really does catch this.
    with matplotlib.rc_context({"font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"]}):
        fig, ax = plt.subplots()
        ax.set_title("科技")
        with pytest.raises(UserWarning, match="Glyph .* missing"):
            _draw(fig, tmp_path)


def test_confusion_heatmap_and_distribution_render_chinese(tmp_path):
    y_true = ZH * 3
    y_pred = ["科技", "体育", "体育", "unknown"] * 3
    fig = plots.confusion_heatmap(confusion_frame(y_true, y_pred, labels=ZH), title="混淆矩阵")
    assert _draw(fig, tmp_path).stat().st_size > 5000
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ZH + ["unknown"]
    fig = plots.class_distribution(y_true + ["科技"], title="类别分布")
    _draw(fig, tmp_path)
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert heights[0] == 4 and sorted(heights[1:]) == [3, 3, 3]


def test_training_curves_skip_empty_validation_cells(tmp_path):
    frame = pd.DataFrame({"step": [1, 2, 3, 4],
                          "train_loss": [1.0, 0.8, 0.5, 0.3],
                          "train_accuracy": [0.2, 0.4, 0.6, 0.8],
                          "valid_loss": [None, 0.9, None, 0.6],
                          "valid_mean_token_accuracy": [None, 0.3, None, 0.5]})
    fig = plots.training_curves(frame, title="训练曲线")
    _draw(fig, tmp_path)
    loss_ax, acc_ax = fig.axes
    train, valid = loss_ax.lines
    assert list(valid.get_xdata()) == [2, 4]
    assert list(train.get_ydata()) == [1.0, 0.8, 0.5, 0.3]
    assert [line.get_label() for line in acc_ax.lines] == ["train", "valid"]


def test_before_after_bars(tmp_path):
    fig = plots.before_after({"准确率": 0.41, "macro_f1": 0.3}, {"准确率": 0.63, "macro_f1": 0.5},
                             names=("零样本", "微调后"))
    _draw(fig, tmp_path)
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert heights == [0.41, 0.3, 0.63, 0.5]
