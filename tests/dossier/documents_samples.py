"""Sample files for the documents' tests: valid PDF, JPEG, PNG and CDA, and the kinds of content that are refused."""

import hashlib
import io
import random
import struct
import zipfile
import zlib
from datetime import date, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from reportlab.pdfgen import canvas

from dossier.models import Document
from dossier.models.documents import AuthorKind


def pdf_bytes(text: str = "Compte rendu de consultation") -> bytes:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, invariant=True)  # same bytes every time (no date, fixed ID)
    page.drawString(72, 760, text)
    page.save()
    return buffer.getvalue()


def padded_pdf_chunks(total_size: int, *, seed: int = 7, block: int = 1 << 20):
    """A valid one-page PDF of about ``total_size`` bytes, yielded by blocks (an unreferenced stream of random
    bytes makes up the size), with a correct cross-reference table."""
    rng = random.Random(seed)
    content = b"BT /F1 24 Tf 72 720 Td (Bonjour) Tj ET"
    head_objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(head_objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    padding = max(0, total_size - out.tell() - 400)
    offsets.append(out.tell())
    out.write(b"6 0 obj\n<< /Length %d >>\nstream\n" % padding)
    yield out.getvalue()
    position = len(out.getvalue())
    remaining = padding
    while remaining:
        size = min(block, remaining)
        yield rng.randbytes(size)
        remaining -= size
    position += padding
    tail = io.BytesIO()
    tail.write(b"\nendstream\nendobj\n")
    xref = position + tail.tell()
    tail.write(b"xref\n0 7\n0000000000 65535 f \n")
    for offset in offsets:
        tail.write(b"%010d 00000 n \n" % offset)
    tail.write(b"trailer\n<< /Size 7 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref)
    yield tail.getvalue()


def padded_pdf(total_size: int, *, seed: int = 7) -> bytes:
    return b"".join(padded_pdf_chunks(total_size, seed=seed))


def image_bytes(kind: str = "PNG", size: tuple[int, int] = (60, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(buffer, kind)
    return buffer.getvalue()


def cda_bytes(title: str = "Compte rendu d’IRM du genou", narrative: str = "Pas de lésion méniscale.") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<?xml-stylesheet type="text/xsl" href="CDA.xsl"?>
<ClinicalDocument xmlns="urn:hl7-org:v3">
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <code code="18748-4" codeSystem="2.16.840.1.113883.6.1" displayName="CR d'imagerie médicale"/>
  <title>{title}</title>
  <effectiveTime value="20250114093000+0100"/>
  <author><assignedAuthor>
    <assignedPerson><name><prefix>Dr</prefix><given>Marie</given><family>Curie</family></name></assignedPerson>
    <representedOrganization><name>Cabinet de radiologie</name></representedOrganization>
  </assignedAuthor></author>
  <component><structuredBody>
    <component><section><title>Indication</title>
      <text><paragraph>Douleur du genou droit.</paragraph></text></section></component>
    <component><section><title>Conclusion</title><text><paragraph>{narrative}</paragraph>
      <list><item>Premier point &lt;script&gt; échappé</item><item>Second point</item></list>
      <table><tr><th>Examen</th><th>Résultat</th></tr><tr><td>IRM</td><td>Normale</td></tr></table></text>
      <component><section><title>Détail</title><text>Sous-section.</text></section></component>
    </section></component>
  </structuredBody></component>
</ClinicalDocument>
""".encode()


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("cache.txt", "contenu caché")
    return buffer.getvalue()


def png_chunk(chunk_type: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + chunk_type + data + struct.pack(">I", zlib.crc32(chunk_type + data))


def png_zip_polyglot_in_chunk() -> bytes:
    """A PNG whose private chunk carries a ZIP, the end-of-central-directory comment spanning the IEND chunk: a
    valid PNG (every chunk and CRC correct, nothing after IEND) that ZIP readers open as an archive."""
    png = image_bytes("PNG")
    iend = png_chunk(b"IEND", b"")
    assert png.endswith(iend)
    archive = zip_bytes()
    # The archive's comment absorbs the rest of the private chunk's data, its CRC and the IEND chunk.
    archive = archive[:-2] + struct.pack("<H", 4 + len(iend))
    return png[: -len(iend)] + png_chunk(b"zzZz", archive) + iend


def upload(content: bytes, name: str = "document.pdf", content_type: str = "application/pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def make_document(citizen, **fields) -> Document:
    """A row for list and access tests (no stored file needed there)."""
    values = {
        "title": "Compte rendu",
        "category": "comptes_rendus",
        "type_code": "11488-4",
        "act_date": date(2024, 5, 1),
        "author_kind": AuthorKind.CITIZEN,
        "author_label": str(citizen),
        "source_label": "Ajouté depuis Mon espace santé",
        "file": f"dossier/{citizen.public_id}/documents/absent",
        "original_name": "compte-rendu.pdf",
        "format": "pdf",
        "content_type": "application/pdf",
        "size_bytes": 1000,
        "sha256": hashlib.sha256(b"x").hexdigest(),
    }
    values.update(fields)
    return Document.objects.create(citizen=citizen, **values)


def document_row(citizen, n: int, **fields) -> Document:
    """An unsaved row, for ``bulk_create`` of many documents."""
    values = {
        "title": f"Compte rendu {n}",
        "category": "comptes_rendus",
        "type_code": "11488-4",
        "act_date": date(2024, 1, 1) + timedelta(days=n % 300),
        "author_kind": AuthorKind.CITIZEN,
        "author_label": str(citizen),
        "source_label": "Ajouté depuis Mon espace santé",
        "file": f"dossier/{citizen.public_id}/documents/{n:032x}",
        "original_name": "compte-rendu.pdf",
        "format": "pdf",
        "content_type": "application/pdf",
        "size_bytes": 100,
        "sha256": "0" * 64,
    }
    values.update(fields)
    return Document(citizen=citizen, **values)
