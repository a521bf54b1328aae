"""bin-console: the dispatcher's console for Belgian neighbourhood information networks (BIN / Z-BIN).

Importing this package must stay cheap and must not import Textual (the CLI, the sender service and
the tests use the same services without a terminal).
"""

__version__ = "0.1.0"
