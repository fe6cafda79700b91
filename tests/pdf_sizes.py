"""Font sizes of the text drawn in a PDF, read back with pdfium (what a printer would print)."""

from __future__ import annotations

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c


def smallest_font_pt(pdf: bytes) -> float:
    """The smallest font size, in points, of any printed (non-space) character."""
    doc = pdfium.PdfDocument(pdf)
    smallest = float("inf")
    for i in range(len(doc)):
        text = doc[i].get_textpage()
        for k in range(text.count_chars()):
            if chr(pdfium_c.FPDFText_GetUnicode(text, k)).isspace():
                continue
            smallest = min(smallest, pdfium_c.FPDFText_GetFontSize(text, k))
    return smallest
