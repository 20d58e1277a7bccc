"""Code that more than one LAPOR service needs: storage and metrics providers, events, errors, RPC."""
