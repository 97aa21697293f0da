"""End-to-end tests: the numbered scripts, launchers and benchmarks run as a user runs them."""
