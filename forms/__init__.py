"""Partnership packs and form specs: the single source of truth for every form."""

from forms.loader import PackError, load_registry, registry
from forms.model import Field, FormSpec, Pack, Registry, Section, Stage

__all__ = ["Field", "FormSpec", "Pack", "PackError", "Registry", "Section", "Stage", "load_registry", "registry"]
