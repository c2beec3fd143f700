"""Pages of mes.acces: the professionals' portal, the citizen's control of access, their access history."""
