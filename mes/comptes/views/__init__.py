"""Pages of mes.comptes, one module per audience or concern."""
