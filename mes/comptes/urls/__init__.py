"""URL configurations of mes.comptes, one module per audience, each included from mes/urls.py."""
