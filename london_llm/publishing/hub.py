"""Upload a folder to the Hugging Face Hub with huggingface_hub: create_repo, then upload_folder.

The token comes from HF_TOKEN or the saved login (huggingface_hub.get_token) and is never
printed. HF_ENDPOINT chooses the Hub (the tests point it at a loopback stub). The client asks
the Hub which files it already has (preupload) and skips them, so publishing the same export
again makes no commit; `publish_folder` says so.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from .errors import PublishError

LOGIN_HINT = "log in with `huggingface-cli login` (or `hf auth login`), or set HF_TOKEN"


@dataclass
class UploadResult:
    repo_id: str
    url: str
    commit: Optional[str]
    changed: list[str] = field(default_factory=list)  # files the commit added or replaced

    @property
    def uploaded_nothing(self) -> bool:
        return not self.changed


# huggingface_hub's own client waits forever (timeout=None): a Hub that accepts a connection and never
# answers would hang the publish. Connect within 20 s; then up to 5 minutes between bytes (a large
# commit or LFS upload can take that long to be acknowledged).
HUB_TIMEOUT = {"timeout": 300.0, "connect": 20.0}
_timeouts_set = False


def use_timeouts() -> None:
    """Make huggingface_hub's shared HTTP client time out (HUB_TIMEOUT); once per process."""
    global _timeouts_set
    if _timeouts_set:
        return
    import httpx2
    from huggingface_hub import set_client_factory
    from huggingface_hub.utils._http import default_client_factory

    def factory():
        client = default_client_factory()  # the library's hooks and redirects, with a timeout
        client.timeout = httpx2.Timeout(HUB_TIMEOUT["timeout"], connect=HUB_TIMEOUT["connect"])
        return client
    set_client_factory(factory)
    _timeouts_set = True


def _endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def _one_line(exc: BaseException) -> str:
    text = " ".join(_redact(str(exc)).split())
    return text[:300] + ("..." if len(text) > 300 else "")


def _redact(text: str) -> str:
    """`text` without the token (HF_TOKEN or the saved login) in any spelling. The library's own messages
    hold none, but the HTTP layer's can: h11 quotes a header value it refuses, so a token with a stray
    control character came back whole in "Illegal header value b'Bearer ...'"."""
    try:
        from huggingface_hub import get_token

        token = get_token()
    except Exception:  # noqa: BLE001 - no token found means none to hide
        token = None
    if not token:
        return text
    forms = {token, repr(token)[1:-1], repr(token.encode("utf-8", "backslashreplace"))[2:-1]}
    forms |= {run for run in re.split(r"[^A-Za-z0-9_]+", token) if len(run) >= 8}  # each word of it
    for secret in sorted(forms, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _api_error(what: str, exc: BaseException) -> PublishError:
    """One line for any failure talking to the Hub, never holding the token (see _redact)."""
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    if isinstance(exc, OfflineModeIsEnabled):
        return PublishError(f"cannot {what}: HF_HUB_OFFLINE is set; unset it to upload (or use --dry_run)")
    if isinstance(exc, (httpx2.ConnectError, httpx2.TimeoutException, httpx2.NetworkError)):
        return PublishError(f"cannot {what}: the Hub at {_endpoint()} is unreachable ({_one_line(exc)}); check the "
                            "network, or HF_ENDPOINT if you set it")
    if isinstance(exc, HfHubHTTPError):
        status = exc.response.status_code if exc.response is not None else "?"
        if status == 401:
            return PublishError(f"cannot {what}: the Hub refused the token (HTTP 401: invalid or expired); "
                                f"{LOGIN_HINT}")
        if status == 403:
            return PublishError(f"cannot {what}: the token may not write there (HTTP 403); use a token with write "
                                "access, or a --repo_id in your own namespace")
        return PublishError(f"cannot {what}: the Hub answered HTTP {status}: {_one_line(exc)}")
    return PublishError(f"cannot {what}: {type(exc).__name__}: {_one_line(exc)}")


def hub_token() -> str:
    """The token, or PublishError naming how to log in. Never printed, never logged."""
    from huggingface_hub import get_token

    token = get_token()
    if not token:
        raise PublishError(f"no Hugging Face token: {LOGIN_HINT}")
    return token


def resolve_repo_id(api, repo_id: str) -> str:
    """`name` -> `user/name` (the token's user); `namespace/name` unchanged. Checks the token."""
    use_timeouts()
    try:
        user = api.whoami()["name"]
    except Exception as exc:
        raise _api_error("check the Hugging Face token", exc) from None
    return repo_id if "/" in repo_id else f"{user}/{repo_id}"


def _remote_oids(api, repo_id: str, repo_type: str) -> tuple[Optional[str], dict[str, str]]:
    """(head commit, path -> content id) of what the repository holds now."""
    info = api.repo_info(repo_id, repo_type=repo_type)
    oids = {}
    for item in api.list_repo_tree(repo_id, repo_type=repo_type, recursive=True, revision=info.sha):
        lfs = getattr(item, "lfs", None)
        blob = getattr(item, "blob_id", None)
        if blob is not None:
            oids[item.path] = lfs.sha256 if lfs is not None else blob
    return info.sha, oids


def publish_folder(folder: Path, repo_id: str, *, repo_type: str = "model", private: bool = False,
                   commit_message: str, ignore: tuple[str, ...] = (), log: Callable[[str], None] = print,
                   api=None) -> UploadResult:
    """Create the repository if needed and upload `folder`; files the Hub already has are skipped."""
    from huggingface_hub import HfApi, constants

    if constants.is_offline_mode():
        raise PublishError("cannot upload: HF_HUB_OFFLINE is set; unset it to upload (or use --dry_run)")
    api = api or HfApi(token=hub_token())
    repo_id = resolve_repo_id(api, repo_id)
    try:
        url = str(api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True))
        before, old = _remote_oids(api, repo_id, repo_type)
    except Exception as exc:
        raise _api_error(f"create or read the repository {repo_id}", exc) from None
    files = sorted(p for p in Path(folder).rglob("*") if p.is_file() and p.name not in ignore)
    size = sum(p.stat().st_size for p in files)
    log(f"Uploading {len(files)} files ({size / 1e6:,.1f} MB) to {url} (files the Hub already holds are skipped)")
    try:
        commit = api.upload_folder(repo_id=repo_id, folder_path=str(folder), repo_type=repo_type,
                                   commit_message=commit_message, ignore_patterns=list(ignore) or None)
        after, new = _remote_oids(api, repo_id, repo_type)
    except Exception as exc:
        raise _api_error(f"upload to {repo_id}", exc) from None
    changed = sorted(p for p, oid in new.items() if old.get(p) != oid)
    result = UploadResult(repo_id, url, getattr(commit, "oid", None) or after, changed)
    if before == after or not changed:
        log(f"Nothing new to upload: {repo_id} already holds exactly these files (commit {str(after)[:12]})")
    else:
        log(f"Uploaded {len(changed)} changed file(s) to {url} in commit {str(after)[:12]}: {', '.join(changed)}")
    return result
