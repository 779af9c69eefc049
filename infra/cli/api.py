"""How `cxm` reaches the platform: the admin API (CXM_URL and CXM_ADMIN_KEY, else the local cloud's) over HTTP, and
the one-line error a refusal becomes."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

STATE_FILE = Path(".cxm/local.json")


def local_cloud() -> dict[str, str]:
    """The running local cloud's URL and admin key, from the state file `make dev` writes."""
    if not STATE_FILE.exists():
        raise SystemExit(f"no local cloud found ({STATE_FILE} is missing): start it with `make dev`")
    state: dict[str, str] = json.loads(STATE_FILE.read_text())
    state["url"] = os.environ.get("CXM_URL", state["url"])
    return state


def admin_target() -> tuple[str, str]:
    """The API and an admin key: `CXM_URL` and `CXM_ADMIN_KEY` (a deployed stack), else the local cloud's."""
    url, key = os.environ.get("CXM_URL"), os.environ.get("CXM_ADMIN_KEY")
    if url and key:
        return url.rstrip("/"), key
    state = local_cloud()
    return state["url"].rstrip("/"), key or state["adminKey"]


def refusal(status: int, body: bytes) -> str:
    """A refused request as one line: a problem's title, status and detail, then each field it names (with its
    message when that says more than the detail); any other answer as it came, shortened."""
    text = body.decode("utf-8", "replace").strip()
    try:
        problem = json.loads(text)
    except ValueError:
        problem = None
    if isinstance(problem, dict) and "title" not in problem and isinstance(problem.get("message"), str):
        return f"error: refused ({status}): {problem['message']}"  # API Gateway's own answers (its authoriser)
    if not isinstance(problem, dict) or "title" not in problem:
        return f"error: refused ({status}): {' '.join(text.split())[:300] or 'no answer'}"
    detail = str(problem.get("detail") or "").strip()
    fields = []
    for fault in problem.get("errors") or []:
        if not isinstance(fault, dict):
            continue
        field, message = str(fault.get("field") or ""), str(fault.get("message") or "").strip()
        fields.append(field if message in ("", detail) else f"{field}: {message}" if field else message)
    line = f"error: {problem['title']} ({problem.get('status', status)})"
    line += f": {detail}" if detail else ""
    return line + (f" [{'; '.join(f for f in fields if f)}]" if any(fields) else "")


def post_local(url: str, key: str, body: dict[str, Any]) -> Any:
    """A `/_local/…` operation of the local cloud (no retry: advancing the clock twice is not once)."""
    return call("POST", url, key, json.dumps(body).encode(), retry=False)


def call(
    method: str,
    url: str,
    key: str,
    body: bytes | None = None,
    content_type: str = "application/json",
    *,
    retry: bool = True,
) -> Any:
    """The API's JSON answer (None when empty)."""
    return json.loads(send(method, url, key, body, content_type, retry=retry) or "null")


def send(
    method: str,
    url: str,
    key: str,
    body: bytes | None = None,
    content_type: str = "application/json",
    *,
    retry: bool = True,
) -> str:
    """The API's answer as it came; a refusal exits with its one-line error. `retry` only for idempotent requests:
    a 5xx is then tried again up to four times."""
    request = urllib.request.Request(
        url, method=method, data=body, headers={"content-type": content_type, "authorization": f"Bearer {key}"}
    )
    attempts = 5 if retry else 1
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                answer: bytes = response.read()
                return answer.decode("utf-8")
        except urllib.error.HTTPError as error:
            if error.code >= 500 and attempt < attempts - 1:
                time.sleep(0.5 * (attempt + 1))
                continue
            raise SystemExit(refusal(error.code, error.read())) from None
        except urllib.error.URLError as error:
            raise SystemExit(f"error: cannot reach the API at {url}: {error.reason}") from None
    raise SystemExit(f"error: {method} {url} kept failing")
