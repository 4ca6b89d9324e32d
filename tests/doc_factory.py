"""Real documents built in tests: PDFs with PyMuPDF, DOCX with python-docx, EPUB by hand.

Other test modules import these to get genuine files (encrypted, image-only,
two-column, with text boxes...) without shipping binary fixtures. Each builder
creates the parent folder and returns the path it wrote.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

import docx
import pymupdf
from docx.oxml import parse_xml

PageLines = Sequence[str]
ColumnPage = tuple[Sequence[str], Sequence[str]]

_FONT_SIZE = 10.0
_LINE = 14.0


def make_pdf(
    path: Path,
    pages: Sequence[PageLines] | Sequence[ColumnPage] | PageLines,
    *,
    two_column: bool = False,
    header: Sequence[str] = (),
    encrypted: bool = False,
    password: str = "secret",
    metadata_title: str | None = None,
) -> Path:
    """Write a PDF; ``pages`` is a list of lines (one page) or a list of pages.

    With ``two_column=True`` each page is ``(left_lines, right_lines)``: a narrow
    sidebar on the left, the main column on the right. The content stream holds the
    right column first and the ``header`` last, so stream order is the wrong reading
    order and only layout analysis gets it right.
    """
    page_list = _as_pages(pages, two_column)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = pymupdf.open()
    for page_content in page_list:
        page = doc.new_page(width=595, height=842)
        if two_column:
            left, right = page_content
            top = 72 + _LINE * (len(header) + 1) if header else 72
            _write_lines(page, right, x=220, y=top, width=330)
            # A sidebar in a smaller font with its own line pitch, as real templates do.
            _write_lines(page, left, x=40, y=top, width=150, size=9, pitch=12.5)
            _write_lines(page, header, x=40, y=60, width=500, size=12)
        else:
            _write_lines(page, page_content, x=60, y=72, width=480)
    if metadata_title:
        doc.set_metadata({"title": metadata_title})
    options: dict[str, object] = {}
    if encrypted:
        options = {
            "encryption": pymupdf.PDF_ENCRYPT_AES_256,
            "user_pw": password,
            "owner_pw": password + "-owner",
        }
    doc.save(str(path), **options)
    doc.close()
    return path


def _as_pages(
    pages: Sequence[PageLines] | Sequence[ColumnPage] | PageLines, two_column: bool
) -> list[object]:
    if two_column:
        first = pages[0]
        if isinstance(first, tuple):
            return list(pages)
        return [tuple(pages)]
    if pages and isinstance(pages[0], str):
        return [list(pages)]
    return list(pages)


def _write_lines(
    page: pymupdf.Page,
    lines: Sequence[str],
    *,
    x: float,
    y: float,
    width: float,
    size: float = _FONT_SIZE,
    pitch: float = _LINE,
) -> None:
    """Each line is its own paragraph; a blank line leaves a gap (a new text block)."""
    cursor = y
    for line in lines:
        if line:
            page.insert_text((x, cursor), line, fontsize=size, fontname="helv")
            cursor += pitch
        else:
            cursor += pitch * 1.5


def make_positioned_pdf(path: Path, items: Sequence[tuple[float, float, str]]) -> Path:
    """One page with each ``(x, baseline_y, text)`` placed exactly, in the order given."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    for x, y, text in items:
        page.insert_text((x, y), text, fontsize=_FONT_SIZE, fontname="helv")
    doc.save(str(path))
    doc.close()
    return path


def make_image_pdf(path: Path, pages: int = 1) -> Path:
    """A 'scanned' PDF: every page is only a picture, no text layer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = pymupdf.open()
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 40, 40), False)
    pix.set_rect(pix.irect, (200, 30, 30))
    for _ in range(pages):
        page = doc.new_page(width=595, height=842)
        page.insert_image(pymupdf.Rect(50, 50, 300, 300), pixmap=pix)
    doc.save(str(path))
    doc.close()
    return path


def make_many_page_pdf(path: Path, pages: int, lines_per_page: int = 30) -> Path:
    """A long, CV-like PDF for size limits and speed."""
    content = [
        [f"Page {p + 1} line {i + 1}: developed scalable services" for i in range(lines_per_page)]
        for p in range(pages)
    ]
    return make_pdf(path, content)


_TEXTBOX_RUN = """
<w:r xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"
     xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"
     xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
     xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"
     xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"
     xmlns:v="urn:schemas-microsoft-com:vml">
  <mc:AlternateContent>
    <mc:Choice Requires="wps">
      <w:drawing>
        <wp:anchor distT="0" distB="0" distL="0" distR="0" simplePos="0" relativeHeight="1"
                   behindDoc="0" locked="0" layoutInCell="1" allowOverlap="1">
          <wp:simplePos x="0" y="0"/>
          <wp:positionH relativeFrom="page"><wp:posOffset>100</wp:posOffset></wp:positionH>
          <wp:positionV relativeFrom="page"><wp:posOffset>100</wp:posOffset></wp:positionV>
          <wp:extent cx="2000000" cy="500000"/>
          <wp:wrapNone/>
          <wp:docPr id="{id}" name="Text Box {id}"/>
          <a:graphic>
            <a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">
              <wps:wsp>
                <wps:spPr/>
                <wps:txbx>
                  <w:txbxContent>{paragraphs}</w:txbxContent>
                </wps:txbx>
                <wps:bodyPr/>
              </wps:wsp>
            </a:graphicData>
          </a:graphic>
        </wp:anchor>
      </w:drawing>
    </mc:Choice>
    <mc:Fallback>
      <w:pict>
        <v:shape style="width:200pt;height:50pt">
          <v:textbox><w:txbxContent>{paragraphs}</w:txbxContent></v:textbox>
        </v:shape>
      </w:pict>
    </mc:Fallback>
  </mc:AlternateContent>
</w:r>
"""


def _textbox_run(lines: Sequence[str], box_id: int) -> object:
    from xml.sax.saxutils import escape

    paragraphs = "".join(f"<w:p><w:r><w:t>{escape(line)}</w:t></w:r></w:p>" for line in lines)
    return parse_xml(_TEXTBOX_RUN.replace("{paragraphs}", paragraphs).replace("{id}", str(box_id)))


def make_docx(
    path: Path,
    paragraphs: Sequence[str] = (),
    *,
    table: Sequence[Sequence[str]] | None = None,
    header: Sequence[str] = (),
    footer: Sequence[str] = (),
    textbox: Sequence[str] = (),
    header_textbox: Sequence[str] = (),
    bullets: Sequence[str] = (),
    after_table: Sequence[str] = (),
) -> Path:
    """A Word file. Order in the body: paragraphs, bullets, text box, table, after_table.

    ``textbox`` and ``header_textbox`` are real ``w:txbxContent`` shapes (written
    twice, as Word does: a DrawingML choice and a VML fallback).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    document = docx.Document()
    section = document.sections[0]
    for line in header:
        section.header.add_paragraph(line)
    if header_textbox:
        holder = section.header.add_paragraph()
        holder._p.append(_textbox_run(header_textbox, 1))
    for line in footer:
        section.footer.add_paragraph(line)
    for line in paragraphs:
        document.add_paragraph(line)
    for line in bullets:
        document.add_paragraph(line, style="List Bullet")
    if textbox:
        holder = document.add_paragraph()
        holder._p.append(_textbox_run(textbox, 2))
    if table:
        width = max(len(row) for row in table)
        grid = document.add_table(rows=len(table), cols=width)
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    for line in after_table:
        document.add_paragraph(line)
    document.save(str(path))
    return path


def make_epub(path: Path, chapters: Sequence[str]) -> Path:
    """A minimal valid EPUB 2 with one XHTML file per chapter."""
    items = "".join(
        f'<item id="c{i}" href="c{i}.xhtml" media-type="application/xhtml+xml"/>'
        for i in range(len(chapters))
    )
    spine = "".join(f'<itemref idref="c{i}"/>' for i in range(len(chapters)))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        archive.writestr(
            "META-INF/container.xml",
            '<?xml version="1.0"?><container version="1.0" '
            'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
            '<rootfile full-path="content.opf" media-type="application/oebps-package+xml"/>'
            "</rootfiles></container>",
        )
        archive.writestr(
            "content.opf",
            '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="2.0" '
            'unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
            '<dc:title>CV</dc:title><dc:identifier id="id">x</dc:identifier></metadata>'
            f"<manifest>{items}</manifest><spine>{spine}</spine></package>",
        )
        for i, chapter in enumerate(chapters):
            archive.writestr(
                f"c{i}.xhtml",
                '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head>'
                f"<title>c{i}</title></head><body><p>{chapter}</p></body></html>",
            )
    return path


_XPS_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="fdseq" '
    'ContentType="application/vnd.ms-package.xps-fixeddocumentsequence+xml"/>'
    '<Default Extension="fdoc" ContentType="application/vnd.ms-package.xps-fixeddocument+xml"/>'
    '<Default Extension="fpage" ContentType="application/vnd.ms-package.xps-fixedpage+xml"/>'
    '<Default Extension="otf" ContentType="application/vnd.ms-opentype"/></Types>'
)
_XPS_RELS = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Type="http://schemas.microsoft.com/xps/2005/06/fixedrepresentation" '
    'Target="/FixedDocSeq.fdseq" Id="R0"/></Relationships>'
)
_XPS_NS = "http://schemas.microsoft.com/xps/2005/06"


def make_xps(path: Path, pages: Sequence[Sequence[str]]) -> Path:
    """An XPS document; the font is PyMuPDF's built-in Helvetica, embedded as XPS requires."""
    from xml.sax.saxutils import quoteattr

    page_refs = "".join(
        f'<PageContent Source="/Documents/1/Pages/{n + 1}.fpage"/>' for n in range(len(pages))
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", _XPS_CONTENT_TYPES)
        archive.writestr("_rels/.rels", _XPS_RELS)
        archive.writestr(
            "FixedDocSeq.fdseq",
            f'<FixedDocumentSequence xmlns="{_XPS_NS}">'
            '<DocumentReference Source="/Documents/1/FixedDoc.fdoc"/></FixedDocumentSequence>',
        )
        archive.writestr(
            "Documents/1/FixedDoc.fdoc",
            f'<FixedDocument xmlns="{_XPS_NS}">{page_refs}</FixedDocument>',
        )
        for n, lines in enumerate(pages):
            glyphs = "".join(
                '<Glyphs Fill="#FF000000" FontUri="/Resources/helv.otf" '
                f'FontRenderingEmSize="12" OriginX="50" OriginY="{60 + 20 * i}" '
                f"UnicodeString={quoteattr(line)}/>"
                for i, line in enumerate(lines)
            )
            archive.writestr(
                f"Documents/1/Pages/{n + 1}.fpage",
                f'<FixedPage xmlns="{_XPS_NS}" Width="816" Height="1056" xml:lang="en-US">'
                f"{glyphs}</FixedPage>",
            )
        archive.writestr("Resources/helv.otf", pymupdf.Font("helv").buffer)
    return path


def make_zip(path: Path, files: dict[str, bytes | str]) -> Path:
    """An arbitrary ZIP (e.g. a .docx whose parts are garbage)."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return path


def write_text(path: Path, text: str, encoding: str = "utf-8", *, bom: bool = False) -> Path:
    """Text in a given encoding; ``bom=True`` prefixes the encoding's byte-order mark."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode(encoding)
    if bom:
        import codecs

        marks = {
            "utf-8": codecs.BOM_UTF8,
            "utf-16-le": codecs.BOM_UTF16_LE,
            "utf-16-be": codecs.BOM_UTF16_BE,
        }
        data = marks[encoding] + data
    path.write_bytes(data)
    return path
