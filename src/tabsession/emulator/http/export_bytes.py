# ruff: noqa: E501  (the OOXML boilerplate below is clearer on one line per part)
"""Small deterministic files for view exports: a PNG, a one-page PDF, CSV data and an .xlsx
crosstab. The same view always gives the same bytes, so tests can compare them."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib

__all__ = ["crosstab_xlsx", "view_csv", "view_pdf", "view_png"]

_ROWS = (("East", 3), ("North", 5), ("South", 2), ("West", 7))


def _rows(view_id: str) -> list[tuple[str, int]]:
    seed = hashlib.sha256(view_id.encode()).digest()
    return [(region, base * 10 + seed[i] % 10) for i, (region, base) in enumerate(_ROWS)]


def view_csv(view_name: str, view_id: str) -> bytes:
    """The view's data as `GET views/{id}/data` returns it (UTF-8 CSV with a header)."""
    lines = ["Region,Sales"] + [f"{region},{sales}" for region, sales in _rows(view_id)]
    del view_name  # the data does not depend on the name, only on the view
    return ("\n".join(lines) + "\n").encode()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def view_png(view_id: str, width: int = 16, height: int = 16) -> bytes:
    """A small RGB PNG whose colour comes from the view id."""
    red, green, blue = hashlib.sha256(view_id.encode()).digest()[:3]
    row = b"\x00" + bytes((red, green, blue)) * width
    pixels = zlib.compress(row * height, 9)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", pixels)
        + _png_chunk(b"IEND", b"")
    )


def view_pdf(view_name: str) -> bytes:
    """A one-page PDF that names the view."""
    text = view_name.replace("\\", "").replace("(", "").replace(")", "")
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


_XLSX_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    ),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="Crosstab" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        "</Relationships>"
    ),
}  # fmt: skip


def crosstab_xlsx(view_id: str) -> bytes:
    """The view's crosstab as a one-sheet Excel workbook (inline strings, no styles)."""
    cells = ['<row r="1"><c r="A1" t="inlineStr"><is><t>Region</t></is></c>'
             '<c r="B1" t="inlineStr"><is><t>Sales</t></is></c></row>']  # fmt: skip
    for n, (region, sales) in enumerate(_rows(view_id), start=2):
        cells.append(
            f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>{region}</t></is></c>'
            f'<c r="B{n}"><v>{sales}</v></c></row>'
        )
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{''.join(cells)}</sheetData></worksheet>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in {**_XLSX_PARTS, "xl/worksheets/sheet1.xml": sheet}.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), text)
    return buffer.getvalue()
