"""Message templates: read data/templates.toml and seed them into table message_template.

Seeding only adds missing (key, language) pairs, so it is safe to run on every start or demo
creation and never overwrites a template a zone has edited in its database.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from sqlmodel import col

from .models import LANGUAGES, URGENCIES, MessageTemplate

TEMPLATES_FILE = Path(__file__).with_name("templates.toml")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class TemplateDef:
    key: str
    language: str
    title: str
    body: str
    urgency: str

    @property
    def placeholders(self) -> set[str]:
        return set(_PLACEHOLDER.findall(self.body))


def load_templates(path: Path | str = TEMPLATES_FILE) -> list[TemplateDef]:
    """Parse the templates file; raises ValueError naming the template for a bad entry."""
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    out: list[TemplateDef] = []
    for key, entry in raw.items():
        urgency = entry.get("urgency", "urgent")
        if urgency not in URGENCIES:
            raise ValueError(f"template {key}: urgency must be one of {URGENCIES}, not {urgency!r}")
        for lang, value in entry.items():
            if lang == "urgency":
                continue
            if lang not in LANGUAGES:
                raise ValueError(f"template {key}: unknown language {lang!r}")
            if not isinstance(value, dict) or not value.get("title") or not value.get("body"):
                raise ValueError(f"template {key}.{lang}: needs a title and a body")
            out.append(TemplateDef(key, lang, value["title"], value["body"], urgency))
    return out


def seed_templates(session: Session, templates: list[TemplateDef] | None = None) -> int:
    """Insert the templates the database lacks; returns how many were added (0 on a second run)."""
    templates = load_templates() if templates is None else templates
    have = {(k, lang) for k, lang in session.execute(select(col(MessageTemplate.key), col(MessageTemplate.language)))}
    rows = [
        {"key": t.key, "language": t.language, "title": t.title, "body": t.body, "urgency": t.urgency}
        for t in templates
        if (t.key, t.language) not in have
    ]
    if rows:
        session.execute(insert(MessageTemplate), rows)
    return len(rows)
