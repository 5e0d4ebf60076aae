"""One module per exercise; each defines ``plan(rng) -> Plan`` (jobs for the child, references, checks)."""
