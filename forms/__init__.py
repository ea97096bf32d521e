"""Partnership packs and form specs: the single source of truth for every form."""

from forms.model import Field, FormSpec, Pack, Registry, Section, Stage

__all__ = ["Field", "FormSpec", "Pack", "PackError", "Registry", "Section", "Stage", "load_registry", "registry"]
_LOADER = ("PackError", "load_registry", "registry")


def __getattr__(name: str):
    """The loader (YAML, the policy texts) is imported when packs are loaded, not with the specs'
    types: a parser reading a file that is no form needs the types only (`flask parse`, issue 16)."""
    if name in _LOADER:
        from forms import loader

        return getattr(loader, name)
    raise AttributeError(f"module 'forms' has no attribute {name!r}")
