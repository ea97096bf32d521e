"""Word documents: templates generated from each form spec (templates) and filled with answers (render)."""
