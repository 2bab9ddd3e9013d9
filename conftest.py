"""Root pytest set-up, shared by the unit tests and nbval over notebooks/.

Notebook kernels inherit this process's environment: they run in replay mode
on the sandbox backend (recorded responses, no key, no network), with the
test interpreter's bin directory first on PATH so the kernel is this venv's,
and draw plots inline (PNG outputs, as a learner sees them) even if the shell
sets MPLBACKEND for scripts. nbval's kernel for the next notebook starts while
the current one runs (below; COURSE_NBVAL_WARM=0 turns that off).
"""
import contextlib
import os
import sys
import tempfile
from pathlib import Path

os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
os.environ["COURSE_MODE"] = "replay"
os.environ.setdefault("COURSE_BACKEND", "sandbox")
os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
for _var in ("OPENAI_API_KEY", "ZHIPUAI_API_KEY", "COURSE_API_KEY"):
    os.environ.pop(_var, None)
# No .env is read by tests, kernels or child processes (see helpers.config._dotenv),
# and tiktoken's converted vocab files go to a throwaway cache, not the home directory.
os.environ["COURSE_ENV_FILE"] = "none"
os.environ.setdefault("TIKTOKEN_CACHE_DIR", tempfile.mkdtemp(prefix="course-tiktoken-"))


# ---------------------------------------------------------------- nbval: kernels started one ahead
# nbval starts each notebook's kernel when that notebook's first cell runs. Here the kernel of the
# next notebook is started (and imports what that notebook's cells import, silently, before its
# first cell: helpers.course.kernels) while the current notebook runs, as the course runner does.
_nbval = {"files": [], "started": {}, "current": None}


def _start_nbval_kernel(path):
    from jupyter_client.manager import KernelManager
    from nbval.kernel import CURRENT_ENV_KERNEL_NAME, NbvalKernelspecManager

    from helpers.course.kernels import warm_modules, warmup_line

    km = KernelManager(kernel_name=CURRENT_ENV_KERNEL_NAME,
                       kernel_spec_manager=NbvalKernelspecManager())
    line = warmup_line(warm_modules(Path(path), os.environ.get("COURSE_BACKEND")))
    km.start_kernel(cwd=str(Path(path).parent), stderr=open(os.devnull, "w"),  # noqa: SIM115  (the kernel holds it)
                    extra_arguments=[f"--IPKernelApp.exec_lines={line}"] if line else [])
    return km


def _prestart(index):
    if 0 <= index < len(_nbval["files"]):
        path = _nbval["files"][index]
        if path not in _nbval["started"]:
            # nbval starts it the usual way when its turn comes
            with contextlib.suppress(Exception):
                _nbval["started"][path] = _start_nbval_kernel(path)


def pytest_collection_modifyitems(config, items):
    """Notebook cells (nbval) run in kernels: they belong to the slow set."""
    import pytest

    for item in items:
        if item.nodeid.split("::")[0].endswith(".ipynb"):
            item.add_marker(pytest.mark.slow)


def pytest_collection_finish(session):
    try:
        from nbval import plugin
    except ImportError:
        return
    files = []
    for item in session.items:
        if isinstance(item.parent, plugin.IPyNbFile) and str(item.parent.fspath) not in files:
            files.append(str(item.parent.fspath))
    if not files or not session.config.option.nbval_current_env or \
            os.environ.get("COURSE_NBVAL_WARM") == "0":  # COURSE_NBVAL_WARM=0: nbval's own way
        return
    _nbval["files"] = files

    class WarmKernel(plugin.RunningKernel):
        def __init__(self, kernel_name, cwd=None, startup_timeout=60):
            path = _nbval["current"]
            km = _nbval["started"].pop(path, None)
            if km is None or kernel_name != plugin.CURRENT_ENV_KERNEL_NAME:
                super().__init__(kernel_name, cwd=cwd, startup_timeout=startup_timeout)
            else:
                self.km = km
                self.kc = km.client()
                self.kc.start_channels()
                self.kc.wait_for_ready(timeout=startup_timeout)
                self._ensure_iopub_up()
            if path in files:
                _prestart(files.index(path) + 1)

    original_setup = plugin.IPyNbFile.setup

    def setup(self):
        _nbval["current"] = str(self.fspath)
        return original_setup(self)

    plugin.RunningKernel = WarmKernel
    plugin.IPyNbFile.setup = setup
    _prestart(0)


def pytest_sessionfinish(session):
    for km in _nbval["started"].values():  # started but never used (deselected, or -x)
        with contextlib.suppress(Exception):
            km.shutdown_kernel(now=True)
    _nbval["started"].clear()
