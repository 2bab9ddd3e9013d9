"""Progress bars: a notebook keeps the finished bar, never its first state or timings."""
import re

from tqdm.std import tqdm as text_tqdm

from helpers import progress

AT_ZERO = re.compile(r"(?<![0-9])0%\|")
TIMING = re.compile(r"\[\d\d:\d\d|it/s|s/it")


def test_outside_a_kernel_it_is_tqdms_text_bar_on_stderr(capsys):
    bar = progress.progress_bar(total=3, desc="classify")
    assert type(bar) is text_tqdm
    bar.update(3)
    bar.close()
    captured = capsys.readouterr()
    assert captured.out == "" and "3/3" in captured.err


def test_disabled_bar_prints_nothing(capsys):
    bar = progress.progress_bar(total=3, desc="classify", disable=True)
    bar.update(3)
    bar.close()
    assert capsys.readouterr() == ("", "")


def test_final_line_is_the_finished_bar_without_timing():
    bar = progress._Counter(total=200, desc="classify")
    bar.n = 200
    line = progress.final_line(bar)
    assert line == "classify: 100%|██████████| 200/200"
    assert not AT_ZERO.search(line) and not TIMING.search(line)


def test_final_line_keeps_the_postfix_and_a_shortfall():
    bar = progress._Counter(total=200, desc="classify")
    bar.n = 150
    bar.postfix = "errors=50"
    assert progress.final_line(bar) == "classify:  75%|███████▌  | 150/200, errors=50"


def test_final_line_without_a_total_counts():
    counter = progress._Counter(total=None, desc="batch")
    counter.n = 7
    assert progress.final_line(counter) == "batch: 7 done"


def test_counter_prints_only_its_final_line(capsys):
    counter = progress._Counter(total=4, desc="classify")
    for _ in range(4):
        counter.update()
    counter.set_postfix(errors=0)
    counter.refresh()
    assert capsys.readouterr().out == ""
    counter.close()
    assert capsys.readouterr().out == "classify: 100%|██████████| 4/4, errors=0\n"


def test_the_notebook_widget_has_no_plain_text_and_ends_with_the_final_line(capsys):
    bar = progress._widget_class()(total=5, desc="classify")
    bundle = bar.container._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "text/plain" not in data and "application/vnd.jupyter.widget-view+json" in data
    capsys.readouterr()  # whatever display() printed outside a kernel
    bar.update(5)
    bar.close()
    assert capsys.readouterr().out.endswith("classify: 100%|██████████| 5/5\n")
    assert bar.container.layout.display == "none"  # hidden, not closed: saved state stays valid
    assert bar.container.comm is not None or bar.container.model_id


def test_an_unfinished_widget_stays_visible(capsys):
    bar = progress._widget_class()(total=5, desc="classify")
    bar.update(2)
    bar.close()
    assert capsys.readouterr().out.endswith("classify:  40%|████      | 2/5\n")
    assert bar.container.layout.display != "none"


def test_in_kernel_is_false_in_a_plain_process():
    assert progress.in_kernel() is False
