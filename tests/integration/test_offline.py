"""Importing ihl_lib and answering on the embedded model touch no network at all."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import json, socket
    attempts = []
    def guard(name):
        def refuse(*args, **kwargs):
            attempts.append(f"{name}{args[1:] if name.startswith('socket.') else args}")
            raise OSError("network unplugged by the test")
        return refuse
    socket.socket.connect = guard("socket.connect")
    socket.socket.connect_ex = guard("socket.connect_ex")
    socket.getaddrinfo = guard("getaddrinfo")
    socket.create_connection = guard("create_connection")

    import ihl_lib.llm as llm
    from ihl_lib.llm.request import _litellm
    _litellm()  # the full litellm import, with our provider registered
    result = llm.complete("local/smollm2-135m", [{"role": "user", "content": "Hello"}], max_tokens=16, cache=CACHE)
    print(json.dumps({"attempts": attempts, "text": result.text}))
    """
)


def test_import_and_local_call_make_no_network_call(tmp_path):
    code = SCRIPT.replace("CACHE", repr(str(tmp_path)))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["attempts"] == []
    assert out["text"]
