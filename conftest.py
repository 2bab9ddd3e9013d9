"""Root pytest set-up, shared by the unit tests and nbval over notebooks/.

Notebook kernels inherit this process's environment: they run in replay mode
on the sandbox backend (recorded responses, no key, no network), with the
test interpreter's bin directory first on PATH so the kernel is this venv's,
and draw plots inline (PNG outputs, as a learner sees them) even if the shell
sets MPLBACKEND for scripts.
"""
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
