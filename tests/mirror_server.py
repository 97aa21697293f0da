"""A local mirror of the real sources, for tests: serves ../shared/corpus in each service's own URL layout.

Started on 127.0.0.1 with an ephemeral port (`MirrorServer(corpus).start()`), it answers:

  /gutenberg/cache/epub/N/pgN.txt     generated UTF-8 text (the DigHums novels, current PG headers)
  /gutenberg/files/N/N-0.txt          producer's UTF-8 file (rcdm-uga books; GITenberg -0 variants)
  /gutenberg/files/N/N-8.txt, N.txt   Latin-1 and ASCII variants (GITenberg)
  /gutenberg/cache/epub/feeds/pg_catalog.csv   the catalogue (FORMATS.md 2.1) of the staged books: from their
                                      RDF records where staged (authors with life dates, subjects), else
                                      from the text's own Title:/Author: header lines
  /ia/advancedsearch.php?q=...        Internet Archive search (JSON), over the staged items
  /ia/metadata/ID                     item metadata with files[], each DjVuTXT with its real size and md5
  /ia/download/ID/FILE                the file
  /obo/sessionsPapers/ID.xml, /obo/ordinarysAccounts/ID.xml      OBO_XML_7-2 layout
  /dhi/oldbailey_record?...&from=N, /dhi/oldbailey_record_single?idkey=ID   the DHI API: the real samples,
                                      and year searches (year_gte, year_lte) over the staged sessions' trials,
                                      each record with its div1 TEI; paging past `api_window` (Elasticsearch's
                                      result window, 10,000) is refused with 400 as the real index does
  /oa-text/oa_txt/ID.txt              Ordinary's Accounts as plain text
  /ll/ll-coroners/COMMIT/coroners_inquests/wa_inq_txt/F, /ll/llep/COMMIT/...   London Lives datasets
  /raw/OWNER/REPO/COMMIT/PATH         raw GitHub files (Standard Ebooks Pepys, EEBO-TCP)
  /figshare/articles/ID/files?page=N&page_size=M   the Figshare API's file list of a deposit, for the
                                      `archives` a test hands the server (name -> bytes): real sizes and
                                      md5s, download_url pointing back here
  /figshare-files/FILE_ID/NAME        those files (a bulk zip built by the test), with Range
  /lls/browse.jsp?div=ID&xml=yes      London Lives' XML view of a page or document, for the `ll_pages` a
                                      test hands the server (id -> XML bytes); 404 for another id

Byte ranges (`Range: bytes=N-`) are honoured with 206, as the real servers do. `extra` maps more
paths to bytes (a test's own World Library file, say). `faults` makes each path go through a
sequence of failures before it answers properly: "500", "429" (with Retry-After), "reset"
(connection reset before any answer), "truncate" (full Content-Length, half the body, then close),
"html200" (an HTML error page with status 200), "stall" (half the body, then silence past the
client's timeout), "slow" (the body in small delayed pieces, within the timeout), "truncated_xml"
(a complete answer of a cut XML file). `requests` records what was asked and answered.
"""
from __future__ import annotations

import hashlib
import json
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Optional
from urllib.parse import parse_qs, unquote, urlsplit

HTML_ERROR_PAGE = (b"<!DOCTYPE html>\n<html><head><title>503 Service Temporarily Unavailable</title></head>"
                   b"<body><h1>Service Temporarily Unavailable</h1><p>Please try again later.</p></body></html>\n")
FAULTS = ("500", "429", "reset", "truncate", "html200", "stall", "truncated_xml", "slow")  # slow succeeds: last

MIRROR_PREFIXES = {"gutenberg": "gutenberg", "internet_archive": "ia", "old_bailey": "obo",
                   "old_bailey_api": "dhi", "old_bailey_text": "oa-text", "london_lives": "ll", "github_raw": "raw",
                   "github": "github", "figshare": "figshare",
                   "london_lives_site": "lls"}
FIGSHARE_ARTICLE = 4775434  # the OBO_XML deposit's article id (doi:10.15131/shef.data.4775434)

LL_COMMITS = {"ll-coroners": ("47dd9e6ba5737627b7a5b77a549476fc85f95479", "london-lives-westminster-coroners-inquests"),
              "llep": ("d2163d53d4763203b3dc98b6c8164e92af0aacfb", "london-lives-pauper-examinations-removals")}
RAW_REPOS = {("standardebooks", "samuel-pepys_the-diary"): "standardebooks-pepys-diary",
             ("textcreationpartnership", "A81426"): "eebo-tcp-london-samples",
             ("textcreationpartnership", "A84981"): "eebo-tcp-london-samples"}


@dataclass
class FaultPlan:
    """Each path meets `sequence` in order, one fault per request, then is served properly."""

    sequence: tuple[str, ...] = FAULTS
    retry_after: int = 1
    stall_seconds: float = 1.5
    slow_pieces: int = 4
    slow_delay: float = 0.05
    only: Optional[re.Pattern] = None  # apply only to paths matching this
    _seen: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def next_fault(self, path: str, is_xml: bool) -> Optional[str]:
        if self.only is not None and not self.only.search(path):
            return None
        with self._lock:
            n = self._seen.get(path, 0)
            self._seen[path] = n + 1
        seq = [f for f in self.sequence if is_xml or f != "truncated_xml"]
        return seq[n] if n < len(seq) else None


class _Catalogue:
    """Where each URL path's bytes come from in ../shared/corpus."""

    def __init__(self, corpus: Path):
        self.corpus = corpus
        self.gutenberg: dict[str, Path] = {}
        for folder, route in (("gutenberg-18c-novels-dighums", "cache"), ("gutenberg-london-books-rcdm-uga", "files0")):
            manifest = corpus / folder / "manifest.json"
            if manifest.exists():
                for entry in json.loads(manifest.read_text(encoding="utf-8"))["files"]:
                    n = entry["pg_ebook_no"]
                    key = f"cache/epub/{n}/pg{n}.txt" if route == "cache" else f"files/{n}/{n}-0.txt"
                    self.gutenberg[key] = corpus / folder / entry["file"]
        for d in sorted((corpus / "gutenberg-gitenberg-format-variants").glob("pg*")):
            for f in d.glob("*.txt"):
                self.gutenberg[f"files/{d.name[2:]}/{f.name}"] = f
        self.ia: dict[str, dict[str, Path]] = {}
        for f in sorted((corpus / "ia-djvu-ocr-samples").glob("*_djvu.txt")):
            identifier, _, remote = f.name.partition("_")  # philtrans01419782_01419782_djvu.txt
            self.ia.setdefault(identifier, {})[remote] = f

    def obo_trials(self) -> dict[int, list[str]]:
        """Trial ids (`t17800112-1`) of the staged sessions by year, as the API's search finds them."""
        if not hasattr(self, "_trials"):
            self._trials: dict[int, list[str]] = {}
            for f in sorted((self.corpus / "old-bailey-obo-xml-7.2" / "sessionsPapers").glob("*.xml")):
                ids = re.findall(rb'<div1 type="trialAccount" id="([^"]+)"', f.read_bytes())
                self._trials.setdefault(int(f.name[:4]), []).extend(i.decode() for i in ids)
        return self._trials

    def obo_record(self, idkey: str) -> Optional[dict]:
        """A single record as the API gives it: `_source` with idkey, title, text and the div1 `xml`."""
        from lxml import etree
        match = re.fullmatch(r"t(\d{8}[A-Z]?)-\d+", idkey)
        f = self.corpus / "old-bailey-obo-xml-7.2" / "sessionsPapers" / f"{match.group(1)}.xml" if match else None
        if f is None or not f.is_file():
            return None
        div = next((d for d in etree.fromstring(f.read_bytes()).iter("div1") if d.get("id") == idkey), None)
        if div is None:
            return None
        xml = etree.tostring(div, encoding="unicode")
        return {"idkey": idkey, "title": f"Trial {idkey}", "text": " ".join("".join(div.itertext()).split()),
                "xml": xml}

    def pg_catalog(self) -> bytes:
        """pg_catalog.csv rows for every staged book, in the real column layout."""
        import csv
        import io
        from lxml import etree
        rows: dict[int, dict] = {}
        for key, path in sorted(self.gutenberg.items()):
            number = int(re.search(r"(?:^|/)(\d+)/", key).group(1))
            if number in rows:
                continue
            head = path.read_bytes()[:6000].decode("utf-8", "replace")
            title = re.search(r"^Title:\s*(.+?)\s*$", head, re.M)
            author = re.search(r"^Author:\s*(.+?)\s*$", head, re.M)
            rows[number] = {"Text#": number, "Type": "Text", "Issued": "2004-01-01",
                            "Title": title.group(1) if title else f"Ebook {number}", "Language": "en",
                            "Authors": author.group(1) if author else "", "Subjects": "", "LoCC": "",
                            "Bookshelves": ""}
        ns = {"pgterms": "http://www.gutenberg.org/2009/pgterms/", "dcterms": "http://purl.org/dc/terms/",
              "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#"}
        for rdf in sorted((self.corpus / "gutenberg-gitenberg-format-variants").glob("pg*/pg*.rdf")):
            root = etree.parse(str(rdf)).getroot()
            number = int(rdf.stem[2:])
            authors = []
            for agent in root.iterfind(".//dcterms:creator/pgterms:agent", ns):
                name = agent.findtext("pgterms:name", default="", namespaces=ns)
                born = agent.findtext("pgterms:birthdate", default="", namespaces=ns)
                died = agent.findtext("pgterms:deathdate", default="", namespaces=ns)
                authors.append(f"{name}, {born}-{died}" if born or died else name)
            subjects = [v.text for v in root.iterfind(".//dcterms:subject//rdf:value", ns) if v.text]
            rows[number] = {**rows.get(number, {"Text#": number, "Type": "Text", "LoCC": "", "Bookshelves": ""}),
                            "Title": root.findtext(".//dcterms:title", default="", namespaces=ns),
                            "Issued": root.findtext(".//dcterms:issued", default="", namespaces=ns),
                            "Language": "en", "Authors": "; ".join(authors), "Subjects": "; ".join(subjects)}
        out = io.StringIO()
        writer = csv.DictWriter(out, ["Text#", "Type", "Issued", "Title", "Language", "Authors", "Subjects", "LoCC",
                                      "Bookshelves"], lineterminator="\n")
        writer.writeheader()
        for number in sorted(rows):
            writer.writerow(rows[number])
        return out.getvalue().encode("utf-8")

    def ia_metadata(self, identifier: str) -> dict:
        files = self.ia.get(identifier)
        if not files:
            return {}  # what archive.org answers for an unknown identifier
        listing = []
        for name, path in sorted(files.items()):
            data = path.read_bytes()
            listing.append({"name": name, "source": "derivative", "format": "DjVuTXT", "size": str(len(data)),
                            "md5": hashlib.md5(data).hexdigest(), "original": name.replace(".txt", ".xml")})
            listing.append({"name": f"{identifier}_files.xml", "source": "original", "format": "Metadata"})
        head = next(iter(files.values())).read_text(encoding="utf-8", errors="replace")
        year = re.search(r"\b(18[0-9]{2})\b", head)
        return {"created": 1788120828, "dir": f"/25/items/{identifier}", "files": listing,
                "files_count": len(listing),
                "metadata": {"identifier": identifier, "mediatype": "texts", "language": "eng",
                             "title": f"Proceedings of the Royal Society of London ({identifier})",
                             "creator": ["Royal Society (Great Britain)"],
                             "date": year.group(1) if year else "1851",
                             "possible-copyright-status": "NOT_IN_COPYRIGHT",
                             "collection": ["jstor_philtrans", "jstor_ejc"]},
                "server": "127.0.0.1"}

    def lookup(self, path: str, query: dict[str, list[str]]) -> tuple[Optional[bytes], str]:
        """(body, content type) for a URL path, or (None, '') when there is no such file."""
        parts = path.strip("/").split("/")
        head, rest = parts[0], "/".join(parts[1:])
        c = self.corpus
        if head == "gutenberg":
            if rest == "cache/epub/feeds/pg_catalog.csv":
                return self.pg_catalog(), "text/csv; charset=utf-8"
            f = self.gutenberg.get(rest)
            return (f.read_bytes(), "text/plain; charset=utf-8") if f else (None, "")
        if head == "ia":
            if rest == "advancedsearch.php":
                return self._ia_search(query), "application/json"
            if len(parts) == 3 and parts[1] == "metadata":
                return json.dumps(self.ia_metadata(parts[2])).encode(), "application/json"
            if len(parts) == 4 and parts[1] == "download":
                f = self.ia.get(parts[2], {}).get(parts[3])
                return (f.read_bytes(), "text/plain; charset=utf-8") if f else (None, "")
            return None, ""
        if head == "obo" and len(parts) == 3 and parts[1] in ("sessionsPapers", "ordinarysAccounts"):
            f = c / "old-bailey-obo-xml-7.2" / parts[1] / parts[2]
            return (f.read_bytes(), "application/xml") if f.is_file() else (None, "")
        if head == "dhi":
            samples = c / "old-bailey-api-json-samples"
            if rest == "oldbailey_record_single":
                idkey = (query.get("idkey") or [""])[0]
                f = samples / f"{idkey}.json"
                if re.fullmatch(r"[a-zA-Z0-9-]+", idkey) and f.is_file():
                    return f.read_bytes(), "application/json"
                record = self.obo_record(idkey)
                return (json.dumps(_es_answer([record])).encode(), "application/json") if record else (None, "")
            if rest == "oldbailey_record" and "year_gte" in query and "offence" not in query:
                first, last = int(query["year_gte"][0]), int((query.get("year_lte") or query["year_gte"])[0])
                start, size = int((query.get("from") or ["0"])[0]), int((query.get("size") or ["10"])[0])
                ids = [i for year in range(first, last + 1) for i in self.obo_trials().get(year, [])]
                hits = [{"idkey": i, "title": f"Trial {i}", "text": "(snippet)"} for i in ids[start:start + size]]
                return json.dumps(_es_answer(hits, total=len(ids))).encode(), "application/json"
            if rest == "oldbailey_record" and (query.get("offence") or [""])[0] == "housebreaking":
                start = int((query.get("from") or ["0"])[0])
                f = samples / ("housebreaking.json" if start == 0 else "housebreaking_page2.json")
                return (f.read_bytes(), "application/json") if start in (0, 10) else (b'{"hits": {"total": 14, "hits": []}}', "application/json")
            return None, ""
        if head == "oa-text" and len(parts) == 3 and parts[1] == "oa_txt":
            f = c / "old-bailey-ordinarys-accounts-txt" / "oa_txt" / parts[2]
            return (f.read_bytes(), "text/plain; charset=utf-8") if f.is_file() else (None, "")
        if head == "ll" and len(parts) >= 4 and parts[1] in LL_COMMITS:
            commit, folder = LL_COMMITS[parts[1]]
            f = c / folder / "/".join(parts[3:])
            ok = parts[2] == commit and f.is_file() and ".." not in parts
            return (f.read_bytes(), "text/plain; charset=utf-8") if ok else (None, "")
        if head == "raw" and len(parts) >= 5 and (parts[1], parts[2]) in RAW_REPOS:
            folder = c / RAW_REPOS[(parts[1], parts[2])]
            f = folder / "/".join(parts[4:])
            ok = f.is_file() and ".." not in parts
            return (f.read_bytes(), "application/xml") if ok else (None, "")
        return None, ""

    def _ia_search(self, query: dict[str, list[str]]) -> bytes:
        rows = int((query.get("rows") or ["50"])[0])
        page = int((query.get("page") or ["1"])[0])
        docs = [{"identifier": i, "title": self.ia_metadata(i)["metadata"]["title"]} for i in sorted(self.ia)]
        chosen = docs[(page - 1) * rows: page * rows]
        return json.dumps({"responseHeader": {"status": 0, "params": {"q": (query.get("q") or [""])[0]}},
                           "response": {"numFound": len(docs), "start": (page - 1) * rows, "docs": chosen}}).encode()


def _es_answer(sources: list[dict], total: Optional[int] = None) -> dict:
    """An Elasticsearch answer in the API's 2026 shape."""
    return {"took": 1, "timed_out": False, "hits": {
        "total": {"value": len(sources) if total is None else total, "relation": "eq"}, "max_score": None,
        "hits": [{"_index": "dhids_oldbailey_record_202601230947", "_type": "_doc", "_id": s["idkey"],
                  "_score": None, "_source": s} for s in sources]}}


class MirrorServer:
    def __init__(self, corpus: Path, faults: Optional[FaultPlan] = None, extra: Optional[dict[str, bytes]] = None,
                 support_range: bool = True, archives: Optional[dict[str, bytes]] = None,
                 article: int = FIGSHARE_ARTICLE, api_window: int = 10_000,
                 ll_pages: Optional[dict[str, bytes]] = None):
        self.catalogue = _Catalogue(Path(corpus))
        self.faults = faults
        self.extra = dict(extra or {})
        self.article = article
        self.api_window = api_window  # Elasticsearch's max_result_window: paging by from stops there
        self.archives = dict(archives or {})  # deposit file name -> bytes, listed by the figshare API
        self._file_ids = {name: 9_000_000 + i for i, name in enumerate(sorted(self.archives))}
        for name, file_id in self._file_ids.items():
            self.extra[f"/figshare-files/{file_id}/{name}"] = self.archives[name]
        self.ll_pages = dict(ll_pages or {})  # London Lives id -> its XML view
        self.support_range = support_range
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._httpd: Optional[ThreadingHTTPServer] = None

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> "MirrorServer":
        server = self

        class Handler(_Handler):
            mirror = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()

    def __enter__(self) -> "MirrorServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def mirrors(self) -> dict[str, str]:
        """Base URL per registry mirror name, pointing here."""
        return {name: f"{self.url}/{prefix}" for name, prefix in MIRROR_PREFIXES.items()}

    def mirror_flags(self) -> list[str]:
        return [arg for name, base in self.mirrors().items() for arg in (f"--{name.replace('_', '-')}-mirror", base)]

    def figshare_files(self, article: str, query: dict[str, list[str]]) -> Optional[bytes]:
        """The figshare API's answer to articles/ID/files (PublicFile objects), paged."""
        if article != str(self.article):
            return None
        page = int((query.get("page") or ["1"])[0])
        size = int((query.get("page_size") or ["10"])[0])
        files = [{"id": self._file_ids[name], "name": name, "size": len(data), "is_link_only": False,
                  "download_url": f"{self.url}/figshare-files/{self._file_ids[name]}/{name}",
                  "supplied_md5": hashlib.md5(data).hexdigest(), "computed_md5": hashlib.md5(data).hexdigest(),
                  "mimetype": "application/zip"} for name, data in sorted(self.archives.items())]
        return json.dumps(files[(page - 1) * size: page * size]).encode()

    def record(self, **entry) -> None:
        with self._lock:
            self.requests.append(entry)


class _Handler(BaseHTTPRequestHandler):
    mirror: MirrorServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # keep test output quiet
        pass

    def do_GET(self):  # noqa: N802 - http.server's naming
        split = urlsplit(self.path)
        path = unquote(split.path)
        query = parse_qs(split.query)
        m = self.mirror
        parts = path.strip("/").split("/")
        if path.endswith("/oldbailey_record") and (int((query.get("from") or ["0"])[0])
                                                   + int((query.get("size") or ["10"])[0]) > m.api_window):
            m.record(path=path, query=split.query, range=None, if_range=None, fault=None,
                     ua=self.headers.get("User-Agent"), found=False)
            return self._send(400, json.dumps({"error": {"type": "illegal_argument_exception", "reason":
                              f"Result window is too large, from + size must be less than or equal to: "
                              f"[{m.api_window}]"}}).encode(), "application/json")
        if path in m.extra:
            body, ctype = m.extra[path], ("application/zip" if path.endswith(".zip") else "text/plain")
        elif path == "/lls/browse.jsp" and (query.get("xml") or [""])[0] == "yes":
            body, ctype = m.ll_pages.get((query.get("div") or [""])[0]), "text/xml; charset=utf-8"
        elif len(parts) == 4 and parts[0] == "figshare" and parts[1] == "articles" and parts[3] == "files":
            body, ctype = m.figshare_files(parts[2], query), "application/json"
        else:
            body, ctype = m.catalogue.lookup(path, query)
        fault = None
        if m.faults is not None and body is not None:
            fault = m.faults.next_fault(split.path + ("?" + split.query if split.query else ""),
                                        path.endswith(".xml"))
        rng = self.headers.get("Range")
        m.record(path=path, query=split.query, range=rng, if_range=self.headers.get("If-Range"), fault=fault,
                 ua=self.headers.get("User-Agent"), found=body is not None)
        if body is None:
            return self._send(404, b"Not Found\n", "text/plain")
        if fault == "500":
            return self._send(500, b"Internal Server Error\n", "text/plain")
        if fault == "429":
            return self._send(429, b"Too Many Requests\n", "text/plain", {"Retry-After": str(m.faults.retry_after)})
        if fault == "reset":
            return self._reset()
        if fault == "html200":
            return self._send(200, HTML_ERROR_PAGE, "text/html; charset=utf-8")
        if fault == "truncated_xml":
            return self._send(200, body[: len(body) // 2], ctype)
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        if_range = self.headers.get("If-Range")
        if rng and if_range and if_range != etag:
            rng = None  # RFC 9110: a changed representation is sent whole, with 200
        start = 0
        if rng and m.support_range:
            match = re.fullmatch(r"bytes=(\d+)-", rng.strip())
            if not match:
                return self._send(400, b"bad range\n", "text/plain")
            start = int(match.group(1))
            if start >= len(body):
                return self._send(416, b"", "text/plain", {"Content-Range": f"bytes */{len(body)}"})
        payload = body[start:]
        status = 206 if start or (rng and m.support_range) else 200
        headers = {"Accept-Ranges": "bytes", "ETag": etag} if m.support_range else {}
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
        if fault in ("truncate", "stall"):
            return self._partial(status, payload, ctype, headers, stall=fault == "stall")
        if fault == "slow":
            return self._slow(status, payload, ctype, headers)
        return self._send(status, payload, ctype, headers)

    # -- answers -------------------------------------------------------------------------------
    def _headers(self, status: int, length: int, ctype: str, headers: Optional[dict] = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def _send(self, status: int, body: bytes, ctype: str, headers: Optional[dict] = None) -> None:
        self._headers(status, len(body), ctype, headers)
        self.wfile.write(body)

    def _partial(self, status: int, body: bytes, ctype: str, headers: dict, stall: bool) -> None:
        self._headers(status, len(body), ctype, headers)
        self.wfile.write(body[: max(1, len(body) // 2)])
        self.wfile.flush()
        if stall:
            time.sleep(self.mirror.faults.stall_seconds)
        self._reset()

    def _slow(self, status: int, body: bytes, ctype: str, headers: dict) -> None:
        self._headers(status, len(body), ctype, headers)
        n = self.mirror.faults.slow_pieces
        step = max(1, -(-len(body) // n))
        for i in range(0, len(body), step):
            self.wfile.write(body[i: i + step])
            self.wfile.flush()
            time.sleep(self.mirror.faults.slow_delay)

    def _reset(self) -> None:
        """Close with RST (SO_LINGER 0): the client sees 'connection reset by peer'."""
        try:
            self.wfile.flush()
        except OSError:
            pass
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.rfile.close()  # the file object holds a reference: close it so close() really closes
        self.connection.close()

    def finish(self):  # the socket may already be closed by _reset
        try:
            super().finish()
        except OSError:
            pass


def main() -> None:  # run it by hand: python tests/mirror_server.py ../shared/corpus
    import argparse

    parser = argparse.ArgumentParser(description="Serve ../shared/corpus in the real sources' URL layouts.")
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--faults", action="store_true", help="inject every fault once per path")
    args = parser.parse_args()
    server = MirrorServer(args.corpus, FaultPlan() if args.faults else None).start()
    print("serving on", server.url)
    for flag in server.mirror_flags():
        print(flag, end=" ")
    print()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
