"""Plots draw Chinese labels with the shipped CJK font and no missing glyphs."""
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402

from helpers import (  # noqa: E402
    fonts,
    metrics,  # noqa: E402
    plots,
)
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
    assert loss_ax.get_legend() is None and acc_ax.get_legend() is None  # never over the curves
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["train", "valid"]
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    box = legend.get_window_extent(canvas.get_renderer())
    assert all(not _boxes_overlap(box, ax.get_window_extent(canvas.get_renderer()))
               for ax in fig.axes)


def test_before_after_bars(tmp_path):
    fig = plots.before_after({"准确率": 0.41, "macro_f1": 0.3}, {"准确率": 0.63, "macro_f1": 0.5},
                             names=("零样本", "微调后"))
    _draw(fig, tmp_path)
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert heights == [0.41, 0.3, 0.63, 0.5]


def _boxes_overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_grouped_bars_legend_covers_no_bar_and_no_label(tmp_path):
    values = {"零样本": {"accuracy": 0.58, "macro_f1": 0.62},
              "少样本": {"accuracy": 0.68, "macro_f1": 0.70},
              "微调后": {"accuracy": 0.755, "macro_f1": 0.98}}
    fig = plots.grouped_bars(values, title="决策表")
    _draw(fig, tmp_path)
    ax = fig.axes[0]
    canvas = FigureCanvasAgg(fig)  # the figure comes back closed; give it a canvas to measure
    canvas.draw()
    renderer = canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    labels = [t.get_window_extent(renderer) for t in ax.texts]
    bars = [b.get_window_extent(renderer) for b in ax.patches]
    assert len(labels) == 6 and [t.get_text() for t in ax.texts][-2:] == ["0.755", "0.980"]
    assert not any(_boxes_overlap(legend, box) for box in labels + bars)
    assert all(box.y1 <= ax.get_window_extent(renderer).y1 for box in labels)  # labels inside


def test_reliability_diagram_shows_counts_and_skips_empty_bins(tmp_path):
    table = metrics.reliability_table(["a"] * 5, ["a", "a", "b", "a", "b"],
                                      [0.95, 0.92, 0.55, 0.15, None], n_bins=5)
    fig = plots.reliability_diagram(table, title="可靠性图")
    _draw(fig, tmp_path)
    top, bottom = fig.axes
    assert len(top.patches) == 3  # only the filled bins have an accuracy bar
    assert [p.get_height() for p in bottom.patches] == [1, 0, 1, 0, 2]
    assert [t.get_text() for t in bottom.texts] == ["1", "", "1", "", "2"]  # counts per bin
    assert not top.texts


def test_coverage_plot_has_one_line_per_curve(tmp_path):
    curve = metrics.coverage_curve(["a", "b", "a"], ["a", "a", "a"], [0.9, 0.8, 0.2])
    fig = plots.coverage_accuracy({"微调后": curve})
    _draw(fig, tmp_path)
    (line,) = fig.axes[0].lines
    assert list(line.get_ydata()) == pytest.approx([1.0, 0.5, 2 / 3])


def test_emoji_labels_fall_back_to_the_emoji_font(tmp_path):
    assert fonts.register_emoji_font() == "Noto Emoji"
    fig = plots.class_distribution(["🎮 Games", "🎮 Games", "体育 ⚽", "Money, markets"],
                                   title="类别 🎮")
    _draw(fig, tmp_path)  # a missing glyph would be an error here
