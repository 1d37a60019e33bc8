"""A real Jupyter server on loopback: it lists the notebooks and runs the project's kernel (no mocks)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest

from ihl_lib.notebooks import KERNEL_NAME, NOTEBOOK_DIR, discover

TOKEN = "ihl-test-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> object:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})
    return json.loads(opener.open(request, timeout=10).read())


def _post(url: str, body: dict) -> object:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"}
    )
    return json.loads(opener.open(request, timeout=30).read())


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory):
    """``jupyter server`` on 127.0.0.1 over notebooks/, with the project's kernel registered as ``make lab`` does."""
    prefix = tmp_path_factory.mktemp("kernels")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "ipykernel",
            "install",
            "--prefix",
            str(prefix),
            "--name",
            KERNEL_NAME,
            "--display-name",
            "Python (ihl-refusals)",
        ],
        check=True,
        capture_output=True,
    )
    port = _free_port()
    log = prefix / "server.log"
    env = os.environ | {"JUPYTER_PATH": str(prefix / "share" / "jupyter")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--IdentityProvider.token={TOKEN}",
            f"--ServerApp.root_dir={NOTEBOOK_DIR}",
            "--allow-root",
        ],
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            _get(base + "/api/status")
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"jupyter server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.5)
    yield base
    process.terminate()
    process.wait(timeout=30)


def test_the_server_lists_the_numbered_notebooks(jupyter):
    listing = _get(jupyter + "/api/contents/")
    names = sorted(item["name"] for item in listing["content"] if item["type"] == "notebook")
    assert names == [path.name for path in discover()]
    specs = _get(jupyter + "/api/kernelspecs")
    assert KERNEL_NAME in specs["kernelspecs"]


def test_the_projects_kernel_imports_ihl_lib_and_loads_the_shipped_verdicts(jupyter):
    import websocket

    kernel = _post(jupyter + "/api/kernels", {"name": KERNEL_NAME})
    ws = websocket.create_connection(jupyter.replace("http", "ws") + f"/api/kernels/{kernel['id']}/channels?token={TOKEN}", timeout=120)
    try:
        msg_id = uuid.uuid4().hex
        code = (
            "from ihl_lib.judging import load_verdicts\n"
            "verdicts = load_verdicts('reference-smollm2')\n"
            "print(len(verdicts), sorted(verdicts['condition'].unique())[0])"
        )
        ws.send(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "username": "test",
                        "session": uuid.uuid4().hex,
                        "msg_type": "execute_request",
                        "version": "5.3",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "channel": "shell",
                    "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {}, "allow_stdin": False},
                }
            )
        )
        printed, status = "", None
        while status is None:
            message = json.loads(ws.recv())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if message["msg_type"] == "stream":
                printed += message["content"]["text"]
            elif message["msg_type"] == "error":
                pytest.fail("\n".join(message["content"]["traceback"]))
            elif message["msg_type"] == "execute_reply":
                status = message["content"]["status"]
    finally:
        ws.close()
    assert status == "ok"
    count, first_condition = printed.split()
    assert int(count) > 1000 and first_condition == "baseline"
