"""The editors' Convergence pages (``/editeurs/convergence/``)."""
