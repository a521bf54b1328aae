"""One source for keys: the ``Binding`` objects. Help (F1), footer and palette read them here, with
the config's ``[keys]`` table (binding id -> key) applied as Textual's ``App.set_keymap`` does."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from textual.binding import Binding

from bin_console.i18n import _

KEY_NAMES = {
    "escape": "Escape",
    "enter": "Enter",
    "pageup": "PgUp",
    "pagedown": "PgDn",
    "up": "Up",
    "down": "Down",
    "left": "Left",
    "right": "Right",
    "tab": "Tab",
}


def key_label(keys: str) -> str:
    """'f1' -> 'F1', 'ctrl+q' -> 'Ctrl+Q', 'left,right' -> 'Left / Right' (as the help has always read)."""
    labels = []
    for key in keys.split(","):
        parts = key.strip().split("+")
        *mods, name = parts
        shown = KEY_NAMES.get(name, name.upper() if len(name) <= 3 else name.capitalize())
        labels.append("+".join([*(m.capitalize() for m in mods), shown]))
    return " / ".join(labels)


def own_bindings(bindings: Iterable[Binding | tuple[str, ...]], keymap: Mapping[str, str]) -> list[Binding]:
    """A class's ``BINDINGS`` with the keymap applied (every binding of ours is a ``Binding`` with an id)."""
    out = []
    for binding in bindings:
        if not isinstance(binding, Binding):
            raise TypeError(f"bindings must be Binding objects with an id, not {binding!r}")
        if binding.id is not None and binding.id in keymap:
            binding = replace(binding, key=keymap[binding.id])
        out.append(binding)
    return out


def help_line(binding: Binding) -> str:
    """What a binding does, in words, in the active language: its tooltip (the long form), else its
    footer description (both N_() msgids)."""
    return _(binding.tooltip or binding.description)
