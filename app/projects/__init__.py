"""Projects: the unit of access; every testimony belongs to exactly one."""
