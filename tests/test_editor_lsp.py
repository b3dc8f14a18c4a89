"""The schema in a real editor's language server (issue #20, point 3): yaml-language-server,
run under node over stdio, completes ``op:`` with every op and a layer's fields from its op,
and reports a wrong op or field against the schema.  Skipped where node or the server is
missing (``make lsp`` installs the server into ``.lsp/``; ``make test`` tries it first)."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from archsolve.ops.table import ALIASES, OPS
from archsolve.output.starters import MODELINE
from archsolve.spec.schema import spec_schema

from .conftest import ROOT

SERVER = ROOT / ".lsp" / "node_modules" / "yaml-language-server" / "bin" / "yaml-language-server"
WAIT_S = 30.0

pytestmark = pytest.mark.skipif(shutil.which("node") is None or not SERVER.exists(),
                                reason="node or yaml-language-server is missing (make lsp installs the server)")


class Server:
    """A language server over stdio: JSON-RPC messages framed by Content-Length headers."""

    def __init__(self, folder: Path) -> None:
        self.proc = subprocess.Popen(["node", str(SERVER), "--stdio"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=folder)
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = None
            while (line := out.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if length is None:
                return
            self.messages.put(json.loads(out.read(length)))

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self._send({"method": method, "params": params})

    def wait(self, want: Any) -> dict[str, Any]:
        """The next message ``want`` accepts; the server's own requests are answered on the way."""
        while True:
            msg = self.messages.get(timeout=WAIT_S)
            if "method" in msg and "id" in msg:  # workspace/configuration and the like
                result = [SETTINGS] if msg["method"] == "workspace/configuration" else None
                self._send({"id": msg["id"], "result": result})
            elif want(msg):
                return msg

    def request(self, method: str, params: dict[str, Any]) -> Any:
        self.next_id += 1
        ident = self.next_id
        self._send({"id": ident, "method": method, "params": params})
        return self.wait(lambda m: m.get("id") == ident and "method" not in m).get("result")

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


SETTINGS = {"validate": True, "completion": True, "hover": True, "schemas": {}, "format": {"enable": False}}


@pytest.fixture()
def editor(tmp_path: Path):
    (tmp_path / "archsolve.schema.json").write_text(json.dumps(spec_schema()))
    server = Server(tmp_path)
    server.request("initialize", {"processId": os.getpid(), "rootUri": tmp_path.as_uri(), "capabilities": {
        "workspace": {"configuration": True},
        "textDocument": {"completion": {"completionItem": {"snippetSupport": False}},
                         "publishDiagnostics": {}}}})
    server.notify("initialized", {})
    server.notify("workspace/didChangeConfiguration", {"settings": {"yaml": SETTINGS}})
    yield server, tmp_path
    server.close()


def _open(server: Server, folder: Path, name: str, text: str) -> str:
    uri = (folder / name).as_uri()
    server.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "yaml", "version": 1,
                                                            "text": f"{MODELINE}\n{text}"}})
    return uri


def _labels(server: Server, uri: str, line: int, character: int) -> set[str]:
    got = server.request("textDocument/completion", {"textDocument": {"uri": uri},
                                                     "position": {"line": line + 1, "character": character}})
    items = got["items"] if isinstance(got, dict) else got
    return {item["label"] for item in items}


def _diagnostics(server: Server, uri: str) -> list[str]:
    msg = server.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                      and m["params"]["uri"] == uri and m["params"]["diagnostics"])
    return [d["message"] for d in msg["params"]["diagnostics"]]


def test_op_completes_with_every_op(editor) -> None:
    server, folder = editor
    uri = _open(server, folder, "a.yaml", "input: [1, 8]\nlayers:\n  - op: \n")
    assert _labels(server, uri, 2, 8) >= {*OPS, *ALIASES}


def test_a_layers_fields_complete_from_its_op(editor) -> None:
    server, folder = editor
    uri = _open(server, folder, "b.yaml", "input: [1, 8]\nlayers:\n  - op: maxpool\n    \n")
    labels = _labels(server, uri, 3, 4)
    assert {"kernel", "stride", "padding", "dilation", "ceil_mode"} <= labels
    assert "out" not in labels  # conv's, not a pool's


@pytest.mark.parametrize(("text", "message"), [
    ("input: [1, 8]\nlayers:\n  - {op: convv, out: 1, kernel: 3}\n", "Value is not accepted. Valid values: "),
    ("input: [1, 8]\nlayers:\n  - {op: conv, out: 1, kernal: 3}\n", "Property kernal is not allowed."),
    ("input: [1, 8]\nlayers:\n  - {op: conv, kernel: 3}\n", 'Missing property "out".'),
])
def test_a_wrong_op_or_field_is_reported(editor, text: str, message: str) -> None:
    server, folder = editor
    uri = _open(server, folder, "c.yaml", text)
    assert any(m.startswith(message) for m in _diagnostics(server, uri))
