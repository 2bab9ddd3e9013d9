"""Third-party OpenAI clients against a served sandbox: which of them work unchanged.

Creates (once) a virtual environment under /tmp, outside the course's
requirements, installs the OpenAI Agents SDK, LangChain's ChatOpenAI and
pydantic-ai into it, starts ``python -m helpers.sandbox serve --port 0`` and
runs one classification per client, each in its own process in that
environment:

- ``agents``: the Agents SDK's default model (the Responses API), instructions
  holding the labels, ``Runner.run_sync``;
- ``agents_reasoning``: the same on ``sandbox-reasoning`` with effort ``low``;
- ``langchain``: ``ChatOpenAI(use_responses_api=True)``;
- ``langchain_reasoning``: the same on ``sandbox-reasoning`` with ``reasoning``;
- ``langchain_tools``: the same with ``bind_tools`` and the default tool choice
  (the label comes back as the tool call's argument);
- ``pydantic_ai``: ``OpenAIResponsesModel`` with a ``Literal`` output type;
- ``pydantic_ai_prompted``: the same with ``PromptedOutput`` (the JSON schema in
  the prompt, the answer parsed from the text).

Each prints PASS or FAIL with the error; the last line is ``name: pass|fail``
pairs. Needs PyPI the first time (``--venv`` to reuse another environment).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.served_sandbox import served_sandbox  # noqa: E402

VENV = Path(tempfile.gettempdir()) / "course-third-party-clients"
PACKAGES = ("openai-agents", "langchain-openai", "pydantic-ai-slim[openai]")
INSTRUCTIONS = "Classify the text. Categories: sports, finance"
TEXT = "Text: the team won the game"

CLIENTS = {
    "agents": """
        from agents import Agent, Runner, set_default_openai_client, set_tracing_disabled
        from openai import AsyncOpenAI
        set_tracing_disabled(True)
        set_default_openai_client(AsyncOpenAI(base_url=URL, api_key="sk-local"))
        agent = Agent(name="classifier", instructions=INSTRUCTIONS, model="sandbox-base")
        answer = Runner.run_sync(agent, TEXT).final_output
    """,
    "agents_reasoning": """
        from agents import Agent, ModelSettings, Runner, set_default_openai_client
        from agents import set_tracing_disabled
        from openai import AsyncOpenAI
        from openai.types.shared import Reasoning
        set_tracing_disabled(True)
        set_default_openai_client(AsyncOpenAI(base_url=URL, api_key="sk-local"))
        agent = Agent(name="classifier", instructions=INSTRUCTIONS, model="sandbox-reasoning",
                      model_settings=ModelSettings(reasoning=Reasoning(effort="low")))
        answer = Runner.run_sync(agent, TEXT).final_output
    """,
    "langchain": """
        from langchain_openai import ChatOpenAI
        llm = ChatOpenAI(model="sandbox-base", base_url=URL, api_key="sk-local",
                         use_responses_api=True)
        answer = llm.invoke([("system", INSTRUCTIONS), ("human", TEXT)]).text
    """,
    "langchain_reasoning": """
        from langchain_openai import ChatOpenAI
        llm = ChatOpenAI(model="sandbox-reasoning", base_url=URL, api_key="sk-local",
                         use_responses_api=True, reasoning={"effort": "low"})
        answer = llm.invoke([("system", INSTRUCTIONS), ("human", TEXT)]).text
    """,
    "langchain_tools": """
        from typing import Literal
        from langchain_core.tools import tool
        from langchain_openai import ChatOpenAI
        @tool
        def record_topic(label: Literal["sports", "finance"]) -> str:
            \"\"\"Record the text's category.\"\"\"
            return label
        llm = ChatOpenAI(model="sandbox-base", base_url=URL, api_key="sk-local",
                         use_responses_api=True)
        reply = llm.bind_tools([record_topic]).invoke([("system", INSTRUCTIONS), ("human", TEXT)])
        call = reply.tool_calls[0]
        answer = f"{call['name']}({call['args']['label']})"
    """,
    "pydantic_ai": """
        from typing import Literal
        from pydantic_ai import Agent
        from pydantic_ai.models.openai import OpenAIResponsesModel
        from pydantic_ai.providers.openai import OpenAIProvider
        model = OpenAIResponsesModel("sandbox-base",
                                     provider=OpenAIProvider(base_url=URL, api_key="sk-local"))
        agent = Agent(model, instructions=INSTRUCTIONS,
                      output_type=Literal["sports", "finance"])
        answer = agent.run_sync(TEXT).output
    """,
    "pydantic_ai_prompted": """
        from typing import Literal
        from pydantic import BaseModel
        from pydantic_ai import Agent, PromptedOutput
        from pydantic_ai.models.openai import OpenAIResponsesModel
        from pydantic_ai.providers.openai import OpenAIProvider
        class Topic(BaseModel):
            label: Literal["sports", "finance"]
        model = OpenAIResponsesModel("sandbox-base",
                                     provider=OpenAIProvider(base_url=URL, api_key="sk-local"))
        agent = Agent(model, instructions=INSTRUCTIONS, output_type=PromptedOutput(Topic))
        answer = agent.run_sync(TEXT).output
    """,
}


def ensure_venv(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PACKAGES], check=True)
    return python


def run_client(python: Path, name: str, url: str) -> tuple[bool, str]:
    code = (f"URL, INSTRUCTIONS, TEXT = {url!r}, {INSTRUCTIONS!r}, {TEXT!r}\n"
            + textwrap.dedent(CLIENTS[name]) + "\nprint(repr(answer))\n")
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                          timeout=300, env={k: v for k, v in os.environ.items()
                                            if not k.endswith("API_KEY")})
    out = (done.stdout.strip().splitlines() or [""])[-1]
    if done.returncode == 0 and "sports" in out:
        return True, out
    return False, (done.stderr.strip().splitlines() or [out])[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", type=Path, default=VENV)
    parser.add_argument("--clients", nargs="*", default=list(CLIENTS))
    args = parser.parse_args()
    python = ensure_venv(args.venv)
    results = {}
    with (tempfile.TemporaryDirectory(prefix="third-party-") as tmp,
          served_sandbox(Path(tmp)) as served):
        url = f"{served}/v1"
        for name in args.clients:
            ok, detail = run_client(python, name, url)
            results[name] = ok
            print(f"{name:20s} {'PASS' if ok else 'FAIL'}  {detail}", flush=True)
    print(" ".join(f"{name}: {'pass' if ok else 'fail'}" for name, ok in results.items()))


if __name__ == "__main__":
    main()
