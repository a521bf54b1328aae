"""The directory of networks, streets and members: validation, edits, imports and exports."""
