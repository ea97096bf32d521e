"""PDF documents: the page layout of a form (render), its fillable fields (fields) and shaped text (text)."""
