"""A real OpenAI-compatible server, not a stub: llama.cpp's own server serving the embedded GGUF on loopback.

A self-hosted server adds its own sampling defaults (llama.cpp's server and Ollama: a repeat penalty of
1.1). The self-hosted path pins them to neutral, so the server answers as the embedded model does, text
for text; without the pins it does not.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from ihl_lib.data import load_prompts, sample_prompts
from ihl_lib.local import LOCAL_MODELS, local_model_path
from ihl_lib.models import ModelSpec
from ihl_lib.runs import RunSettings, run

N_PROMPTS = 4
MAX_TOKENS = 48  # enough for the answers to diverge under a repeat penalty, short enough to be quick


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    spec = LOCAL_MODELS["smollm2-135m"]
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(local_model_path("smollm2-135m")),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(spec.n_ctx),
        "--seed",
        "0",
        "--n_threads",
        "1",
        "--model_alias",
        "smollm2",
    ]
    # its log goes to a file: an unread pipe fills up and stalls the server
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log.open("w"))
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"llama.cpp's server exited: {log.read_text()[-2000:]}")
        try:
            urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url + "/models", timeout=2)  # loopback: no proxy
            break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("llama.cpp's server did not start within 120 s")
    yield url
    process.terminate()
    process.wait(timeout=30)


def _answers(models, prompts, tmp_path, name):
    settings = RunSettings(max_tokens=MAX_TOKENS, max_concurrency=1)
    responses = run(
        models,
        prompts,
        "baseline",
        run_name=name,
        settings=settings,
        cache=tmp_path / f"cache-{name}",
        results_root=tmp_path / "results",
        progress=False,
        show_plan=False,
    )
    return responses.set_index("prompt_id")["response"]


def test_llama_cpps_own_server_answers_as_the_embedded_model_does(llama_server, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "none")
    prompts = sample_prompts(load_prompts("ihl_violations"), N_PROMPTS)
    served = _answers([ModelSpec("openai/smollm2", api_base=llama_server)], prompts, tmp_path, "served")
    embedded = _answers("local/smollm2-135m", prompts, tmp_path, "embedded")
    assert served.sort_index().tolist() == embedded.sort_index().tolist()


def test_without_the_pinned_penalties_the_server_answers_differently(llama_server, tmp_path, monkeypatch):
    """The control: the server's own repeat penalty changes the answers (why the pins exist)."""
    from ihl_lib import models

    monkeypatch.setenv("OPENAI_API_KEY", "none")
    monkeypatch.setattr(models, "SELF_HOSTED_PINNED", ())
    prompts = sample_prompts(load_prompts("ihl_violations"), N_PROMPTS)
    served = _answers([ModelSpec("openai/smollm2", api_base=llama_server)], prompts, tmp_path, "unpinned")
    embedded = _answers("local/smollm2-135m", prompts, tmp_path, "embedded")
    assert served.sort_index().tolist() != embedded.sort_index().tolist()
