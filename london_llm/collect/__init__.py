"""Stage 02, downloading: the sources registry, a polite retrying HTTP client, resumable atomic
downloads with verification, and the collector that ties them together (see docs/collector.md).

Modules: `registry` (data_sources.json), `names` (safe file names), `http` (session, retries, rate
limit), `textcheck` (is this really text?), `fetch` (one resumable download), `api` (small answers:
searches, metadata, catalogues), `plan` (what each source kind fetches), `collector` (the run,
per-item isolation and the summary).
"""
