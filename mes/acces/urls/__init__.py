"""Routes of mes.acces, one module per audience."""
