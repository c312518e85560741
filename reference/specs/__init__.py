"""Registry entries, one module per family; each exposes ``SPECS``, a list of Spec."""
