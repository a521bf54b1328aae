"""bin-console data layer: SQLModel tables, the engine, plain query functions, migrations, demo data.

Installed as ``bin_console.data``. Nothing here imports Textual or any service above it.
"""
