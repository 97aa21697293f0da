"""A loopback stub of the Hugging Face Hub's HTTP API, enough for huggingface_hub 2.4 without Xet.

Tests start it on 127.0.0.1 (never another address), point `HF_ENDPOINT` at `server.url` and set
`HF_HUB_DISABLE_XET=1`, and the official client talks to it as it would to the Hub:

    whoami            GET  /api/whoami-v2
    create_repo       POST /api/repos/create                          (409 when it exists)
    README check      POST /api/validate-yaml                         (create_commit posts the card)
    upload_folder     POST /api/{type}s/{repo}/preupload/{rev}        which files are LFS, and the
                                                                      oid of the file already there
                      POST /{prefix}{repo}.git/info/lfs/objects/batch upload actions, none for a known blob
                      PUT  /lfs/{sha256}                              the LFS blob itself
                      POST /api/{type}s/{repo}/commit/{rev}           NDJSON: header, file, lfsFile, deletedFile
    repo_info         GET  /api/{type}s/{repo}[/revision/{rev}]       id, sha, siblings
    list_repo_tree    GET  /api/{type}s/{repo}/tree/{rev}[/{path}]
    hf_hub_download   HEAD/GET /{prefix}{repo}/resolve/{rev}/{path}   X-Repo-Commit, ETag, X-Linked-Size

Repositories keep every commit (path -> content per commit), so a test can read what each
publish changed; `requests` records every request (method, path, status) for assertions.
The client skips a file whose preupload `oid` equals its own (git blob sha1 for a regular file,
sha256 for an LFS one) and makes no commit when nothing changed: a second identical publish
shows up here as preupload calls and no commit.

Repository ids are always `namespace/name` here (create_repo without a namespace gets the token's
user). Nothing is persisted: the state lives as long as the server object.
"""
from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

# the Hub's default .gitattributes routes these to LFS; anything over 10 MB or binary goes there too
LFS_PATTERNS = ("*.safetensors", "*.bin", "*.pt", "*.pth", "*.parquet", "*.arrow", "*.h5", "*.onnx",
                "*.msgpack", "*.model", "*.zip", "*.gz", "*.tar")
LFS_MIN_BYTES = 10 * 2**20
GITATTRIBUTES = "".join(f"{p} filter=lfs diff=lfs merge=lfs -text\n" for p in LFS_PATTERNS).encode()
TYPE_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}


def git_blob_sha1(data: bytes) -> str:
    """What git (and the Hub, and huggingface_hub's `sha.git_hash`) calls a regular file's oid."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Entry:
    """One file of one commit: its bytes, and its LFS sha256 when stored through LFS."""

    data: bytes
    lfs_sha256: Optional[str] = None

    @property
    def oid(self) -> str:  # the oid preupload reports, compared by the client with its own
        return self.lfs_sha256 or git_blob_sha1(self.data)


@dataclass
class Commit:
    oid: str
    message: str
    files: dict[str, Entry]
    created: float = field(default_factory=time.time)


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool
    commits: list[Commit] = field(default_factory=list)

    @property
    def head(self) -> Commit:
        return self.commits[-1]

    def at(self, revision: str) -> Optional[Commit]:
        if revision == "main":
            return self.head
        return next((c for c in self.commits if c.oid == revision or (len(revision) >= 7 and
                                                                        c.oid.startswith(revision))), None)


class HubStub:
    """The server and its state. `with HubStub(tokens={"hf_x": "alice"}) as hub:` ... `hub.url`."""

    def __init__(self, tokens: Optional[dict[str, str]] = None, host: str = "127.0.0.1"):
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the Hub stub binds loopback only")
        self.tokens = dict(tokens or {})  # token -> user name
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lfs_blobs: dict[str, bytes] = {}  # sha256 -> content, shared by all repos (as on the Hub)
        self.requests: list[dict] = []
        self.lock = threading.RLock()  # re-entered when a handler answers while holding it
        self._server = ThreadingHTTPServer((host, 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "HubStub":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- what tests ask -----------------------------------------------------------------------

    def repo(self, repo_id: str, repo_type: str = "model") -> Repo:
        return self.repos[(repo_type, repo_id)]

    def calls(self, method: str, contains: str) -> list[dict]:
        """Recorded requests with this method whose path contains `contains`."""
        with self.lock:
            return [r for r in self.requests if r["method"] == method and contains in r["path"]]

    def clear_requests(self) -> None:
        with self.lock:
            self.requests.clear()

    # --- repository operations ----------------------------------------------------------------

    def create(self, repo_type: str, repo_id: str, private: bool) -> Repo:
        repo = Repo(repo_type, repo_id, private)
        repo.commits.append(_new_commit(None, "initial commit", {".gitattributes": Entry(GITATTRIBUTES)}))
        self.repos[(repo_type, repo_id)] = repo
        return repo


def _new_commit(parent: Optional[Commit], message: str, files: dict[str, Entry]) -> Commit:
    listing = json.dumps({"parent": parent.oid if parent else None, "message": message, "time": time.time_ns(),
                          "files": {p: e.oid for p, e in sorted(files.items())}}).encode()
    return Commit(hashlib.sha1(listing).hexdigest(), message, files)


class _Reply(Exception):
    """Raised inside a handler to answer with an error (the Hub's X-Error-Code where it has one)."""

    def __init__(self, status: int, message: str, code: Optional[str] = None):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def _handler_for(hub: HubStub):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the client's connection pool expects

        def log_message(self, *args) -> None:  # quiet: the requests are recorded instead
            pass

        # --- plumbing ---------------------------------------------------------------------------

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass  # trailers
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _send(self, status: int, body: bytes = b"", headers: Optional[dict] = None,
                  content_type: str = "application/json", length: Optional[int] = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body) if length is None else length))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            with hub.lock:
                hub.requests.append({"method": self.command, "path": self.path_only, "status": status})

        def _json(self, status: int, obj, headers: Optional[dict] = None) -> None:
            self._send(status, json.dumps(obj).encode(), headers)

        def _user(self, required: bool) -> Optional[str]:
            auth = self.headers.get("Authorization", "")
            token = auth[7:] if auth.startswith("Bearer ") else None
            user = hub.tokens.get(token) if token else None
            if required and user is None:
                raise _Reply(401, "Invalid credentials in Authorization header")
            return user

        def _repo(self, repo_type: str, repo_id: str, write: bool = False) -> Repo:
            user = self._user(required=write)
            repo = hub.repos.get((repo_type, repo_id))
            if repo is None or (repo.private and user != repo_id.split("/")[0]):
                raise _Reply(404, "Repository not found", "RepoNotFound")
            if write and user != repo_id.split("/")[0]:
                raise _Reply(403, "You don't have the rights to write to this repository")
            return repo

        def _dispatch(self) -> None:
            split = urlsplit(self.path)
            self.path_only = unquote(split.path)
            self.query = parse_qs(split.query)
            try:
                for pattern, method in ROUTES:
                    match = re.fullmatch(pattern, split.path)
                    if match and self.command in method:
                        getattr(self, method[self.command])(*[unquote(g) if g else g for g in match.groups()])
                        return
                raise _Reply(404, f"no route for {self.command} {split.path}")
            except _Reply as reply:
                headers = {"X-Error-Message": reply.message}
                if reply.code:
                    headers["X-Error-Code"] = reply.code
                self._json(reply.status, {"error": reply.message}, headers)

        do_GET = do_HEAD = do_POST = do_PUT = _dispatch

        # --- endpoints ----------------------------------------------------------------------------

        def whoami(self) -> None:
            user = self._user(required=True)
            self._json(200, {"type": "user", "name": user, "fullname": user, "orgs": [],
                             "auth": {"type": "access_token", "accessToken": {"displayName": "test", "role": "write"}}})

        def create_repo(self) -> None:
            user = self._user(required=True)
            payload = json.loads(self._body() or b"{}")
            namespace = payload.get("organization") or user
            if namespace != user:
                raise _Reply(403, f"You don't have the rights to create a repository under {namespace}")
            repo_type = payload.get("type") or "model"
            repo_id = f"{namespace}/{payload['name']}"
            url = f"{hub_url(self)}/{TYPE_PREFIX[repo_type]}{repo_id}"
            with hub.lock:
                exists = (repo_type, repo_id) in hub.repos
                if not exists:
                    hub.create(repo_type, repo_id, payload.get("visibility") == "private" or bool(payload.get("private")))
            if exists:
                self._json(409, {"error": "You already created this repo", "url": url},
                           {"X-Error-Message": "You already created this repo"})
                return
            self._json(200, {"url": url, "name": repo_id, "id": repo_id})

        def validate_yaml(self) -> None:
            content = json.loads(self._body())["content"]
            errors = []
            if content.startswith("---"):
                try:
                    meta = yaml.safe_load(content.split("---", 2)[1])
                    if meta is not None and not isinstance(meta, dict):
                        errors.append({"message": "metadata is not a mapping"})
                except (yaml.YAMLError, IndexError) as exc:
                    errors.append({"message": f"invalid YAML: {exc}"})
            self._json(400 if errors else 200, {"errors": errors, "warnings": []})

        def repo_info(self, prefix: str, repo_id: str, revision: Optional[str]) -> None:
            repo = self._repo(_kind(prefix), repo_id)
            commit = repo.at(revision or "main")
            if commit is None:
                raise _Reply(404, f"Invalid rev id: {revision}", "RevisionNotFound")
            self._json(200, {"id": repo_id, "author": repo_id.split("/")[0], "sha": commit.oid,
                             "private": repo.private, "lastModified": _iso(commit.created),
                             "siblings": [{"rfilename": p} for p in sorted(commit.files)], "tags": []})

        def tree(self, prefix: str, repo_id: str, revision: str, sub: Optional[str]) -> None:
            repo = self._repo(_kind(prefix), repo_id)
            commit = repo.at(revision)
            if commit is None:
                raise _Reply(404, f"Invalid rev id: {revision}", "RevisionNotFound")
            recursive = self.query.get("recursive", ["false"])[0].lower() in ("1", "true")
            base = (sub.strip("/") + "/") if sub else ""
            items, folders = [], set()
            for path, entry in sorted(commit.files.items()):
                if not path.startswith(base):
                    continue
                rest = path[len(base):]
                parts = rest.split("/")
                for depth in range(1, len(parts)):
                    if recursive or depth == 1:
                        folders.add(base + "/".join(parts[:depth]))
                if len(parts) > 1 and not recursive:
                    continue
                item = {"type": "file", "path": path, "size": len(entry.data), "oid": git_blob_sha1(entry.data)}
                if entry.lfs_sha256:
                    pointer = _lfs_pointer(entry)
                    item.update(oid=git_blob_sha1(pointer),
                                lfs={"oid": entry.lfs_sha256, "size": len(entry.data), "pointerSize": len(pointer)})
                items.append(item)
            items += [{"type": "directory", "path": f, "oid": hashlib.sha1(f.encode()).hexdigest()}
                      for f in sorted(folders)]
            self._json(200, items)

        def preupload(self, prefix: str, repo_id: str, revision: str) -> None:
            repo = self._repo(_kind(prefix), repo_id, write=True)
            commit = repo.at(revision) or repo.head
            files = []
            for f in json.loads(self._body())["files"]:
                sample = base64.b64decode(f["sample"])
                lfs = (any(fnmatch.fnmatch(f["path"].rsplit("/", 1)[-1], p) for p in LFS_PATTERNS)
                       or f["size"] >= LFS_MIN_BYTES or b"\0" in sample)
                existing = commit.files.get(f["path"])
                files.append({"path": f["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False,
                              "oid": existing.oid if existing else None})
            self._json(200, {"files": files, "commitOid": commit.oid})

        def lfs_batch(self, prefix: str, repo_id: str) -> None:
            self._repo(_kind(prefix), repo_id, write=True)
            payload = json.loads(self._body())
            objects = []
            for obj in payload["objects"]:
                answer = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
                if obj["oid"] not in hub.lfs_blobs:  # a known blob needs no upload: no "actions"
                    answer["actions"] = {"upload": {"href": f"{hub_url(self)}/lfs/{obj['oid']}"}}
                objects.append(answer)
            self._send(200, json.dumps({"transfer": "basic", "objects": objects}).encode(),
                       content_type="application/vnd.git-lfs+json")

        def lfs_put(self, oid: str) -> None:
            data = self._body()
            if hashlib.sha256(data).hexdigest() != oid:
                raise _Reply(400, "uploaded content does not match its sha256")
            with hub.lock:
                hub.lfs_blobs[oid] = data
            self._send(200, b"")

        def commit(self, prefix: str, repo_id: str, revision: str) -> None:
            repo = self._repo(_kind(prefix), repo_id, write=True)
            lines = [json.loads(line) for line in self._body().splitlines() if line.strip()]
            header = next(item["value"] for item in lines if item["key"] == "header")
            with hub.lock:
                parent = repo.at(revision)
                if parent is None or parent is not repo.head:
                    raise _Reply(400, f"can only commit to main here, not {revision}")
                files = dict(parent.files)
                for item in lines:
                    value = item["value"]
                    if item["key"] == "file":
                        files[value["path"]] = Entry(base64.b64decode(value["content"]))
                    elif item["key"] == "lfsFile":
                        blob = hub.lfs_blobs.get(value["oid"])
                        if blob is None:
                            raise _Reply(400, f"LFS object {value['oid']} of {value['path']} was never uploaded")
                        files[value["path"]] = Entry(blob, value["oid"])
                    elif item["key"] == "deletedFile":
                        if files.pop(value["path"], None) is None:
                            raise _Reply(404, "A file with this name doesn't exist", "EntryNotFound")
                    elif item["key"] == "deletedFolder":
                        for p in [p for p in files if p.startswith(value["path"].rstrip("/") + "/")]:
                            del files[p]
                commit = _new_commit(parent, header["summary"], files)
                repo.commits.append(commit)
            url = f"{hub_url(self)}/{TYPE_PREFIX[repo.repo_type]}{repo_id}/commit/{commit.oid}"
            self._json(200, {"success": True, "commitOid": commit.oid, "commitUrl": url, "pullRequestUrl": None})

        def resolve(self, prefix: Optional[str], repo_id: str, revision: str, path: str) -> None:
            repo = self._repo(_kind(prefix), repo_id)
            commit = repo.at(revision)
            if commit is None:
                raise _Reply(404, f"Invalid rev id: {revision}", "RevisionNotFound")
            entry = commit.files.get(path)
            if entry is None:
                raise _Reply(404, f"{path} does not exist at {revision}", "EntryNotFound")
            headers = {"X-Repo-Commit": commit.oid, "ETag": f'"{entry.oid}"', "Accept-Ranges": "bytes"}
            if entry.lfs_sha256:
                headers.update({"X-Linked-Etag": f'"{entry.lfs_sha256}"', "X-Linked-Size": str(len(entry.data))})
            data = entry.data
            status = 200
            ranged = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
            if ranged and self.command == "GET":
                start = int(ranged.group(1))
                headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
                data, status = data[start:], 206
            self._send(status, data, headers, content_type="application/octet-stream")

    return Handler


def _kind(prefix: Optional[str]) -> str:
    """models / datasets / spaces (API paths) or datasets/ / spaces/ / nothing (git and file paths)."""
    return (prefix or "models").strip("/").rstrip("s")


def hub_url(handler: BaseHTTPRequestHandler) -> str:
    host, port = handler.server.server_address[:2]
    return f"http://{host}:{port}"


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ts))


def _lfs_pointer(entry: Entry) -> bytes:
    return (f"version https://git-lfs.github.com/spec/v1\noid sha256:{entry.lfs_sha256}\n"
            f"size {len(entry.data)}\n").encode()


_REPO = r"([^/]+/[^/]+)"
_TYPES = r"(models|datasets|spaces)"
ROUTES = [  # (path pattern, {HTTP method: handler method})
    (r"/api/whoami-v2", {"GET": "whoami"}),
    (r"/api/repos/create", {"POST": "create_repo"}),
    (r"/api/validate-yaml", {"POST": "validate_yaml"}),
    (rf"/api/{_TYPES}/{_REPO}/preupload/([^/]+)", {"POST": "preupload"}),
    (rf"/api/{_TYPES}/{_REPO}/commit/([^/]+)", {"POST": "commit"}),
    (rf"/api/{_TYPES}/{_REPO}/tree/([^/]+)(?:/(.*))?", {"GET": "tree"}),
    (rf"/api/{_TYPES}/{_REPO}(?:/revision/([^/]+))?", {"GET": "repo_info"}),
    (rf"/(datasets/|spaces/)?{_REPO}\.git/info/lfs/objects/batch", {"POST": "lfs_batch"}),
    (r"/lfs/([0-9a-f]{64})", {"PUT": "lfs_put"}),
    (rf"/(datasets/|spaces/)?{_REPO}/resolve/([^/]+)/(.+)", {"GET": "resolve", "HEAD": "resolve"}),
]
