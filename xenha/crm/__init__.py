"""The cluster description -> crm configuration (crm shell text, CIB XML, pcs commands)."""
