"""The local launcher: what `make run` and the end-to-end tests use to bring LAPOR up."""
