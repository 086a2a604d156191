"""The reports' document: an A4 PDF/A-3B page with their typography, tables and charts.

In: headings, paragraphs, rows (dicts), SVG charts and frames to attach, from the sections.
Out: the document's bytes, identical for the same content (no clock, no random id).
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib
import polars as pl
from fpdf import FPDF

from pipeline.publish.redaction import strip_hidden
from pipeline.publish.reports.format import MISSING, fmt_time

INVALID_STAMP = "BUILT ON DATA THAT FAILED VALIDATION"
PDFA = "PDF/A-3B"
CHART_KEEP = 80
"""Millimetres a chart and its caption take: a heading over a chart moves to the next
page with it."""

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONT = "DejaVu Sans"
"""The one text face, also the family the charts' SVG text names, so both use the
same embedded font."""
MONO = "DejaVuMono"
INK = (33, 33, 33)
MUTED = (110, 110, 110)
RULE = (200, 200, 200)
RED = (178, 24, 43)
HEAD_FILL = (236, 236, 236)
ZEBRA = (247, 247, 247)

Attach = Callable[[str, pl.DataFrame, str, str], str]
"""How a section attaches the rows behind it: (file name, rows, source table, what they
are) -> the file name."""

logging.getLogger("fpdf.svg").setLevel(logging.ERROR)


def xmp_packet(*, title: str, subject: str, author: str, creator: str, producer: str,
               keywords: str, created: datetime) -> str:
    """The XMP metadata (PDF/A-3B identification, Dublin Core, dates), written here so
    that every date in it is the run's and none is the clock's. It mirrors the document
    information dictionary fpdf2 writes (PDF/A requires the two to agree)."""
    def esc(text: str) -> str:
        return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                .replace('"', "&quot;"))

    stamp = created.astimezone(UTC).isoformat(timespec="seconds")
    return "\n".join([
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="distill-forensics">',
        '  <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">',
        '    <rdf:Description rdf:about=""',
        '        xmlns:dc="http://purl.org/dc/elements/1.1/"',
        '        xmlns:xmp="http://ns.adobe.com/xap/1.0/"',
        '        xmlns:pdf="http://ns.adobe.com/pdf/1.3/"',
        '        xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"',
        f'        xmp:CreatorTool="{esc(creator)}"',
        f'        xmp:CreateDate="{stamp}"',
        f'        xmp:ModifyDate="{stamp}"',
        f'        xmp:MetadataDate="{stamp}"',
        f'        pdf:Producer="{esc(producer)}"',
        f'        pdf:Keywords="{esc(keywords)}">',
        "      <pdfaid:part>3</pdfaid:part>",
        "      <pdfaid:conformance>B</pdfaid:conformance>",
        '      <dc:title><rdf:Alt><rdf:li xml:lang="x-default">'
        f"{esc(title)}</rdf:li></rdf:Alt></dc:title>",
        '      <dc:description><rdf:Alt><rdf:li xml:lang="x-default">'
        f"{esc(subject)}</rdf:li></rdf:Alt></dc:description>",
        f"      <dc:creator><rdf:Seq><rdf:li>{esc(author)}</rdf:li></rdf:Seq></dc:creator>",
        "    </rdf:Description>",
        "  </rdf:RDF>",
        "</x:xmpmeta>",
    ])


@dataclass(frozen=True)
class Column:
    """One column of a printed table: heading, width (mm), alignment, and how a value of
    the row (a dict) becomes text."""

    heading: str
    width: float
    key: str | Callable[[dict[str, Any]], Any]
    fmt: Callable[[Any], str] = str
    align: str = "LEFT"
    wrap: bool = False

    def text(self, row: dict[str, Any]) -> str:
        value = self.key(row) if callable(self.key) else row.get(self.key)
        if value is None and self.fmt is str:
            return MISSING
        return self.fmt(value)


class EvidencePDF(FPDF):
    """An A4 PDF/A-3B document with the reports' typography, running header and footer,
    page numbers ("page n of N"), optional invalid-data stamp, and helpers for headings,
    paragraphs, tables that repeat their header row across pages, and captioned charts."""

    def __init__(self, *, title: str, running_head: str, generated_at: datetime,
                 version: str, invalid: bool) -> None:
        super().__init__(orientation="P", unit="mm", format="A4", enforce_compliance=PDFA)
        self.running_head = running_head
        self.generated_at = generated_at
        self.version = version
        self.invalid = invalid
        self.set_margins(16, 20, 16)
        self.set_auto_page_break(True, margin=18)
        for style, name in (("", "DejaVuSans.ttf"), ("B", "DejaVuSans-Bold.ttf"),
                            ("I", "DejaVuSans-Oblique.ttf"),
                            ("BI", "DejaVuSans-BoldOblique.ttf")):
            self.add_font(FONT, style, FONT_DIR / name)
        self.add_font(MONO, "", FONT_DIR / "DejaVuSansMono.ttf")
        self.set_font(FONT, size=9)
        self.set_text_color(*INK)
        producer = "distill-forensics (fpdf2)"
        subject = "Evidence report of the distill-forensics pipeline"
        self.set_title(title)
        self.set_subject(subject)
        self.set_author("distill-forensics")
        self.set_creator(f"distill-forensics {version}")
        self.set_producer(producer)
        self.set_keywords("adversarial distillation, evidence report")
        self.set_lang("en")
        self.set_creation_date(generated_at)
        self.set_xmp_metadata(xmp_packet(
            title=title, subject=subject, author="distill-forensics",
            creator=f"distill-forensics {version}", producer=producer,
            keywords="adversarial distillation, evidence report", created=generated_at))

    # fpdf2 hooks ---------------------------------------------------------------------

    def normalize_text(self, text: str) -> str:
        return super().normalize_text(strip_hidden(text))

    def header(self) -> None:
        if self.invalid:
            self.set_fill_color(*RED)
            self.set_text_color(255, 255, 255)
            self.set_font(FONT, "B", 9)
            self.set_xy(0, 0)
            self.cell(self.w, 8, f"{INVALID_STAMP}: do not act on this document",
                      align="C", fill=True)
        if self.page_no() > 1:
            self.set_xy(self.l_margin, 10)
            self.set_font(FONT, "", 7.5)
            self.set_text_color(*MUTED)
            self.cell(0, 4, self.running_head, align="L")
            self.set_draw_color(*RULE)
            self.line(self.l_margin, 15, self.w - self.r_margin, 15)
        self.set_text_color(*INK)
        self.set_font(FONT, "", 9)
        self.set_y(self.t_margin)

    def footer(self) -> None:
        self.set_y(-13)
        self.set_draw_color(*RULE)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.set_font(FONT, "", 7.5)
        self.set_text_color(*MUTED)
        self.cell(0, 6, f"distill-forensics {self.version} · generated "
                  f"{fmt_time(self.generated_at)}", align="L")
        self.set_x(self.l_margin)
        self.cell(0, 6, f"page {self.page_no()} of {{nb}}", align="R")
        if self.invalid:
            self.set_y(-8)
            self.set_text_color(*RED)
            self.set_font(FONT, "B", 7.5)
            self.cell(0, 4, INVALID_STAMP, align="C")
        self.set_text_color(*INK)

    # building blocks -----------------------------------------------------------------

    @property
    def content_width(self) -> float:
        return self.w - self.l_margin - self.r_margin

    def ensure_space(self, height: float) -> None:
        """Start a new page unless ``height`` mm still fit on this one."""
        if self.get_y() + height > self.h - self.b_margin:
            self.add_page()

    def h1(self, text: str, *, new_page: bool = True) -> None:
        if new_page:
            self.add_page()
        self.start_section(text, level=0)
        self.set_font(FONT, "B", 15)
        self.set_text_color(*INK)
        self.multi_cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(1.5)
        self.set_font(FONT, "", 9)

    def h2(self, text: str, *, keep: float = 40) -> None:
        """A subsection heading, moved to the next page unless ``keep`` mm fit below it
        (a chart's height), so a heading never sits alone at the foot of a page."""
        self.ensure_space(keep + 10)
        self.ln(2)
        self.start_section(text, level=1)
        self.set_font(FONT, "B", 11)
        self.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(0.5)
        self.set_font(FONT, "", 9)

    def para(self, text: str, *, size: float = 9, style: str = "",
             colour: tuple[int, int, int] = INK, markdown: bool = False) -> None:
        self.set_font(FONT, style, size)
        self.set_text_color(*colour)
        self.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT", markdown=markdown)
        self.ln(1.2)
        self.set_text_color(*INK)
        self.set_font(FONT, "", 9)

    def note(self, text: str) -> None:
        """A 'not available in this run' line: visible, never a number."""
        self.set_font(FONT, "I", 8.5)
        self.set_text_color(*MUTED)
        self.multi_cell(0, 4.4, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(1.5)
        self.set_text_color(*INK)
        self.set_font(FONT, "", 9)

    def source(self, text: str) -> None:
        self.set_font(FONT, "", 7)
        self.set_text_color(*MUTED)
        self.multi_cell(0, 3.4, f"Source: {text}", new_x="LMARGIN", new_y="NEXT")
        self.ln(2)
        self.set_text_color(*INK)
        self.set_font(FONT, "", 9)

    def figures(self, items: Sequence[tuple[str, str]]) -> None:
        """A row of key figures: big numbers over small labels."""
        self.ensure_space(20)
        width = self.content_width / len(items)
        x0, y0 = self.l_margin, self.get_y()
        self.set_draw_color(*RULE)
        for i, (label, value) in enumerate(items):
            x = x0 + i * width
            self.set_fill_color(*ZEBRA)
            self.rect(x + 1, y0, width - 2, 17, style="F")
            self.set_xy(x + 1, y0 + 2)
            self.set_font(FONT, "B", 14)
            self.cell(width - 2, 7, value, align="C")
            self.set_xy(x + 1, y0 + 10)
            self.set_font(FONT, "", 7.5)
            self.set_text_color(*MUTED)
            self.cell(width - 2, 4, label, align="C")
            self.set_text_color(*INK)
        self.set_xy(self.l_margin, y0 + 20)
        self.set_font(FONT, "", 9)

    def kv(self, rows: Sequence[tuple[str, str]], *, key_width: float = 48,
           size: float = 9) -> None:
        """Label: value lines, the label in bold."""
        for key, value in rows:
            self.ensure_space(6)
            y = self.get_y()
            self.set_font(FONT, "B", size)
            self.multi_cell(key_width, size * 0.52, key, new_x="RIGHT", new_y="TOP")
            self.set_font(FONT, "", size)
            self.multi_cell(0, size * 0.52, value, new_x="LMARGIN", new_y="NEXT")
            self.set_y(max(self.get_y(), y + size * 0.52) + 0.8)
        self.ln(1)

    def data_table(self, columns: Sequence[Column], rows: Iterable[dict[str, Any]], *,
                   size: float = 7.5, mono: Sequence[int] = ()) -> None:
        """A table whose header row repeats on every page it spans.

        Drawn with plain cells rather than fpdf2's ``table()``, which lays out every cell
        as a paragraph and took most of a report's time on the account appendix. Cells are
        one line (clipped with an ellipsis) unless their column wraps; a row never splits
        across pages.
        """
        total = sum(c.width for c in columns)
        scale = self.content_width / total if total > self.content_width else 1.0
        widths = [c.width * scale for c in columns]
        line = size * 0.42
        pad = 0.7
        mono_set = set(mono)
        self.set_draw_color(*RULE)
        self.set_line_width(0.15)

        def fonts(i: int, bold: bool = False) -> None:
            if i in mono_set and not bold:
                self.set_font(MONO, "", size - 0.4)
            else:
                self.set_font(FONT, "B" if bold else "", size)

        def heading_lines() -> list[list[str]]:
            out = []
            for i, c in enumerate(columns):
                fonts(i, bold=True)
                out.append(self._wrap(c.heading, widths[i] - 2 * pad))
            return out

        head = heading_lines()
        head_h = max(len(x) for x in head) * line + 2 * pad

        def draw_head() -> None:
            x, y = self.l_margin, self.get_y()
            self.set_fill_color(*HEAD_FILL)
            self.rect(x, y, sum(widths), head_h, style="F")
            for i, c in enumerate(columns):
                fonts(i, bold=True)
                for k, text in enumerate(head[i]):
                    self.set_xy(x + pad, y + pad + k * line)
                    self.cell(widths[i] - 2 * pad, line, text, align=_ALIGN[c.align])
                x += widths[i]
            self.line(self.l_margin, y + head_h, self.l_margin + sum(widths), y + head_h)
            self.set_xy(self.l_margin, y + head_h)

        self.ensure_space(head_h + line + 2 * pad + 4)
        draw_head()
        limit = self.h - self.b_margin
        for n, row in enumerate(rows):
            texts = [c.text(row) for c in columns]
            cells: list[list[str]] = []
            for i, c in enumerate(columns):
                fonts(i)
                room = widths[i] - 2 * pad
                cells.append(self._wrap(texts[i], room) if c.wrap
                             else [self._clip(texts[i], room)])
            row_h = max(len(x) for x in cells) * line + 2 * pad
            if self.get_y() + row_h > limit:
                self.add_page()
                draw_head()
            x, y = self.l_margin, self.get_y()
            if n % 2:
                self.set_fill_color(*ZEBRA)
                self.rect(x, y, sum(widths), row_h, style="F")
            for i, c in enumerate(columns):
                fonts(i)
                for k, text in enumerate(cells[i]):
                    self.set_xy(x + pad, y + pad + k * line)
                    self.cell(widths[i] - 2 * pad, line, text, align=_ALIGN[c.align])
                x += widths[i]
            self.line(self.l_margin, y + row_h, self.l_margin + sum(widths), y + row_h)
            self.set_xy(self.l_margin, y + row_h)
        self.ln(2)
        self.set_font(FONT, "", 9)

    def _clip(self, text: str, width: float) -> str:
        """``text`` cut with an ellipsis to fit ``width`` mm in the current font."""
        if len(text) * self.font_size * 0.62 <= width or self.get_string_width(text) <= width:
            return text
        lo, hi = 0, len(text)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.get_string_width(text[:mid] + "…") <= width:
                lo = mid
            else:
                hi = mid - 1
        return text[:lo] + "…"

    def _wrap(self, text: str, width: float) -> list[str]:
        """``text`` broken into lines of at most ``width`` mm (words, then characters)."""
        if self.get_string_width(text) <= width:
            return [text]
        lines: list[str] = []
        current = ""
        for word in text.split(" "):
            candidate = f"{current} {word}" if current else word
            if self.get_string_width(candidate) <= width:
                current = candidate
                continue
            if current:
                lines.append(current)
            while self.get_string_width(word) > width:
                cut = len(self._clip(word, width).rstrip("…")) or 1
                lines.append(word[:cut])
                word = word[cut:]
            current = word
        lines.append(current)
        return lines

    def chart(self, svg: bytes, caption: str, source: str) -> None:
        """An SVG chart at full width, kept on one page with its caption and source."""
        width_pt, height_pt = _svg_size(svg)
        width = self.content_width
        height = width * height_pt / width_pt
        self.ensure_space(height + 12)
        self.image(io.BytesIO(svg), x=self.l_margin, w=width, h=height)
        self.set_font(FONT, "I", 8)
        self.multi_cell(0, 4, caption, new_x="LMARGIN", new_y="NEXT")
        self.source(source)


_ALIGN = {"LEFT": "L", "RIGHT": "R", "CENTER": "C"}
_SVG_SIZE = re.compile(rb'<svg[^>]*?width="([\d.]+)pt" height="([\d.]+)pt"', re.DOTALL)


def _svg_size(svg: bytes) -> tuple[float, float]:
    match = _SVG_SIZE.search(svg[:2000])
    if not match:
        raise ValueError("chart SVG without a size in points")
    return float(match.group(1)), float(match.group(2))


def render_toc(pdf: FPDF, outline: list[Any]) -> None:
    """The contents page (fpdf2 calls it at output, once every page number is known):
    sections and their subsections, each a link to its page."""
    pdf.set_xy(pdf.l_margin, pdf.t_margin)
    pdf.set_font(FONT, "B", 15)
    pdf.cell(0, 8, "Contents", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    for section in outline:
        if section.level > 1:
            continue
        indent = 6 * section.level
        pdf.set_font(FONT, "B" if section.level == 0 else "", 9.5 if section.level == 0 else 8.5)
        link = pdf.add_link(page=section.page_number)
        pdf.set_x(pdf.l_margin + indent)
        width = pdf.w - pdf.l_margin - pdf.r_margin - indent - 12
        pdf.cell(width, 5.6, section.name, link=link)
        pdf.cell(12, 5.6, str(section.page_number), align="R", link=link,
                 new_x="LMARGIN", new_y="NEXT")
        if section.level == 0:
            pdf.ln(0.6)


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """Rows as CSV (UTF-8, header, ISO times in UTC): what the attachments hold. Text that
    a spreadsheet would run as a formula (starting with =, +, -, @, a tab or a carriage
    return: a user agent or an e-mail domain is whatever the client sent) is prefixed
    with an apostrophe, as OWASP advises, so opening an attachment runs nothing."""
    out = frame
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Datetime):
            out = out.with_columns(pl.col(name).dt.convert_time_zone("UTC")
                                   if dtype.time_zone else pl.col(name))
        elif isinstance(dtype, pl.List):
            out = out.with_columns(pl.col(name).cast(pl.List(pl.String)).list.join(","))
    text = [n for n, t in out.schema.items() if t == pl.String]
    out = out.with_columns(
        pl.when(pl.col(n).str.contains(r"^[=+\-@\t\r]")).then(pl.lit("'") + pl.col(n))
        .otherwise(pl.col(n)).alias(n) for n in text)
    return out.write_csv(datetime_format="%Y-%m-%dT%H:%M:%S%.6f%z").encode("utf-8")


def attach_csv(pdf: EvidencePDF, name: str, frame: pl.DataFrame, description: str) -> str:
    """Attach rows to the PDF as its data (PDF/A-3 associated file), dated with the run so
    the bytes never depend on the clock. Returns ``name``."""
    pdf.embed_file(bytes=csv_bytes(frame) or b"\n", basename=name, mime_type="text/csv",
                   associated_file_relationship="Data", desc=description,
                   modification_date=pdf.generated_at, creation_date=pdf.generated_at)
    return name


def pdf_bytes(pdf: FPDF) -> bytes:
    """The finished document's bytes (fpdf2 hands back a bytearray)."""
    return bytes(pdf.output())


def table_rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """The rows of a frame as ``data_table`` takes them (none for an empty frame)."""
    return frame.to_dicts() if frame.height else []
