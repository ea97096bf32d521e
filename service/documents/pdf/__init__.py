"""PDF documents of a form, blank and fillable or completed.

- render: the entry point, render_pdf, drawing the laid-out pages with their footers
- layout: the document top to bottom: heading, instructions, sections and their fields, closing
- page: the page's measures and colours, a line of text, and the cursor that starts new pages
- draw: drawing on the canvas: a page's lines of text, boxes, and the marks of ticks and choices
- labels: a field's label and hint, and its answer as the page writes it (dates DD/MM/YYYY)
- boxes: text, date and textarea fields: a box that grows with the answer, its text field over it
- choices: choice and ticks fields: a radio button or checkbox per choice, with its label
- table: repeatable rows: a table with a field per cell, its header repeated on each page
- fields: the AcroForm fields, written as real field hierarchies
- text: the embedded fonts and shaped text (wrapping, right-to-left scripts)
"""
