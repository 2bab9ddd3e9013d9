"""The repository keeps the promises its README makes."""
import re

from conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def _commands():
    return re.findall(r"```bash\n(.+?)\n```", README)


def test_readme_has_the_two_commands_in_both_languages():
    cmds = _commands()
    course = [c for c in cmds if "helpers.course run" in c]
    tests = [c for c in cmds if c.endswith("-m pytest")]
    assert len(set(course)) == 1 and len(set(tests)) == 1
    for cmd in course + tests:
        assert cmd.startswith("python3 -m venv .venv && .venv/bin/pip install -r requirements.txt")


def test_ci_runs_exactly_the_readme_test_command():
    test_cmd = next(c for c in _commands() if c.endswith("-m pytest"))
    ci_lines = [ln for ln in (REPO / ".ci" / "run").read_text().splitlines()
                if ln and not ln.startswith("#") and not ln.startswith(("set ", "cd "))]
    assert ci_lines == [test_cmd]


def test_requirements_are_pinned_and_without_zai_sdk():
    reqs = [ln.strip() for ln in (REPO / "requirements.txt").read_text().splitlines()
            if ln.strip() and not ln.startswith("#")]
    assert "-e ." in reqs
    pins = dict(r.split("==") for r in reqs if r != "-e .")
    assert all(pins.values()), "every requirement has an exact version"
    assert pins["openai"].startswith("3.") and pins["zhipuai"].startswith("2.1.")
    assert not {"zai-sdk", "zai_sdk"} & {k.lower() for k in pins}
    from packaging.version import Version

    assert Version(pins["PyJWT"]) < Version("2.9")


def test_gitignore_keeps_state_and_secrets_out():
    ignored = (REPO / ".gitignore").read_text().split()
    for entry in (".env", ".sandbox/", "runs/", "work/", "*.tiktoken", ".venv/"):
        assert entry in ignored
