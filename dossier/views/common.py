"""What every page of the dossier shares: the space it shows, decided by the access policy."""

from mes.acces.decorators import citizen_space_view

# The dossier's pages are pages of the citizen's space (see ``citizen_space_view``).
dossier_view = citizen_space_view
