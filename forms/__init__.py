"""Partnership packs and form specs: the single source of truth for every form."""

__all__ = ["Field", "FormSpec", "Pack", "PackError", "Registry", "Section", "Stage", "load_registry", "registry"]
_MODEL = ("Field", "FormSpec", "Pack", "Registry", "Section", "Stage")
_LOADER = ("PackError", "load_registry", "registry")


def __getattr__(name: str):
    """Each part is imported when it is first used: a parser reading a file that is no form needs
    the specs' types only, not the loader (YAML, the policy texts); the store of a received file needs
    the text normaliser only (`flask parse` and `flask ingest` start-up, issue 16)."""
    if name in _MODEL:
        from forms import model

        return getattr(model, name)
    if name in _LOADER:
        from forms import loader

        return getattr(loader, name)
    raise AttributeError(f"module 'forms' has no attribute {name!r}")
