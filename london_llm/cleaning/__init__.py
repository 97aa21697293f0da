"""Stage 02 cleaning: raw source files (with their download sidecars) -> cleaned documents.

One module per concern: `encoding` (bytes -> text), `normalise` (long s, ligatures, spacing),
one parser module per source format, `contamination` and `filters` (what may not reach the
corpus), `dedup` (exact + MinHash LSH), `sidecar` (download metadata), `importer` (local
folders in the sources' own layouts -> downloads/), `build` (the whole run, on all cores).
"""
