"""Writes on accounts and spaces, one module per concern (lifecycle, campaigns, automatic creation, closure)."""
