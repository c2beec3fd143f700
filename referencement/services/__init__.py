"""Writes of référencement, by step of the dossier’s life."""
