"""HTML views of référencement: editors (dossiers, tests, convention, audits) and the commission."""
