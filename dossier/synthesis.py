"""The synthesis of the profil médical as a PDF (reportlab's platypus), to print or hand to a professional.

A4, dated (Europe/Paris), numbered « Page X sur Y », with the person, the five sections, the vaccinations and the
latest weight, height and BMI. Everything typed by people is escaped before it reaches reportlab's paragraph markup.

Fonts: the standard Helvetica in the WinAnsi encoding covers French (é, è, à, ç, œ, ’, «, », €). A character
outside it (Ł, ğ, ő in a name, for instance) is drawn with Bitstream Vera, a TrueType font shipped inside the
reportlab package itself, so no system font is needed; what neither font has is drawn as reportlab's missing glyph.

Cost: linear in the size of the profile. Entries are separate paragraphs, and the vaccinations table is cut into
blocks of a few rows: one long reportlab table is measured again in full at each page break.
"""

import io
import os
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _

from dossier.fhir.immunization import PARIS
from dossier.models import Measure, MeasureKind
from dossier.selectors.profile import immunizations, latest_body_measures, profile_sections
from dossier.templatetags.profile_dates import long_date
from mes.acces.policy import CitizenAccess

FONT = "Helvetica"
FONT_BOLD = "Helvetica-Bold"
FALLBACK_FONT = "MesVera"
FALLBACK_FONT_BOLD = "MesVeraBd"
TABLE_BLOCK_ROWS = 25
BODY_MEASURES = (MeasureKind.WEIGHT, MeasureKind.HEIGHT, MeasureKind.BMI)


def synthesis_filename(generated_at: datetime) -> str:
    return f"synthese-profil-medical-{generated_at.astimezone(PARIS):%Y-%m-%d}.pdf"


def profile_synthesis_pdf(access: CitizenAccess, *, generated_at: datetime) -> bytes:
    """The PDF of ``access``'s space as it is now: three queries (entries, vaccinations, measures)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    _register_fallback_fonts()
    citizen = access.citizen
    generated_at = generated_at.astimezone(PARIS)
    buffer = io.BytesIO()
    title = _("Synthèse du profil médical")
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=20 * mm,
        title=f"{title} — {citizen.display_first_name} {citizen.birth_name}",
        author=_("Mon espace santé"),
        subject=title,
        creator=_("Mon espace santé"),
        lang="fr-FR",
    )
    story = _story(access, generated_at, document.width)
    footer = _("Mon espace santé — %(title)s de %(name)s") % {
        "title": title,
        "name": f"{citizen.display_first_name} {citizen.birth_name}",
    }
    document.build(story, canvasmaker=_numbered_canvas(footer))
    return buffer.getvalue()


# --- Content ---


def _story(access: CitizenAccess, generated_at: datetime, width: float) -> list:
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer

    styles = _styles()
    citizen = access.citizen
    story = [
        Paragraph(_markup(_("Synthèse du profil médical")), styles["title"]),
        _identity_table(citizen, styles, width),
        Spacer(0, 3 * mm),
        Paragraph(
            _markup(
                _("Document généré le %(date)s à %(time)s (heure de Paris).")
                % {"date": long_date(generated_at.date()), "time": f"{generated_at.hour} h {generated_at.minute:02d}"}
            ),
            styles["small"],
        ),
        Paragraph(
            _markup(
                _(
                    "Informations déclarées dans Mon espace santé par la personne ou son représentant légal, ou "
                    "transmises par un professionnel ou un service référencé. Ce document ne remplace pas un avis "
                    "médical."
                )
            ),
            styles["small"],
        ),
    ]
    measures = latest_body_measures(access)
    if measures:
        story.append(Paragraph(_markup(_("Poids, taille et IMC")), styles["h2"]))
        for kind in BODY_MEASURES:
            if kind in measures:
                story.append(Paragraph(_measure_line(measures[kind]), styles["body"]))
    for section in profile_sections(access):
        story.append(Paragraph(_markup(section.label), styles["h2"]))
        if not section.entries:
            story.append(Paragraph(_markup(_("Aucune information renseignée.")), styles["empty"]))
        for entry in section.entries:
            story.append(Paragraph(_markup(entry.label, bold=True), styles["entry"]))
            dates = _period(entry.start_date, entry.end_date)
            if dates:
                story.append(Paragraph(_markup(dates), styles["detail"]))
            if entry.note:
                story.append(Paragraph(_markup(entry.note), styles["detail"]))
    story.append(Paragraph(_markup(_("Vaccinations")), styles["h2"]))
    story.extend(_immunization_tables(list(immunizations(access)), styles, width))
    return story


def _identity_table(citizen, styles: dict, width: float):
    from reportlab.lib import colors
    from reportlab.platypus import Paragraph, Table, TableStyle

    rows = [
        (_("Nom de naissance et prénoms"), f"{citizen.birth_name} {citizen.first_names}"),
        (_("Date de naissance"), long_date(citizen.birth_date)),
        (_("Matricule INS"), _spaced_ins(citizen.ins)),
    ]
    table = Table(
        [
            [Paragraph(_markup(label), styles["cell_label"]), Paragraph(_markup(value), styles["cell"])]
            for label, value in rows
        ],
        colWidths=[width * 0.38, width * 0.62],
        hAlign="LEFT",
    )
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.5, colors.HexColor("#929292")),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f0f0f0")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _immunization_tables(rows: list, styles: dict, width: float) -> list:
    from reportlab.lib import colors
    from reportlab.platypus import Paragraph, Table, TableStyle

    if not rows:
        return [Paragraph(_markup(_("Aucune information renseignée.")), styles["empty"])]
    header = [
        Paragraph(_markup(text), styles["cell_header"])
        for text in (_("Date"), _("Vaccin"), _("Dose"), _("Lot"), _("Administré par"), _("Source"))
    ]
    widths = [0.13, 0.31, 0.07, 0.13, 0.18, 0.18]
    style = TableStyle(
        [
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e3e3fd")),
            ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#929292")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ]
    )
    tables = []
    for start in range(0, len(rows), TABLE_BLOCK_ROWS):
        data = [header]
        for immunization in rows[start : start + TABLE_BLOCK_ROWS]:
            data.append(
                [
                    Paragraph(_markup(immunization.occurrence_date.strftime("%d/%m/%Y")), styles["cell"]),
                    Paragraph(_markup(immunization.vaccine_label), styles["cell"]),
                    Paragraph(_markup(str(immunization.dose_number or "")), styles["cell"]),
                    Paragraph(_markup(immunization.lot_number), styles["cell"]),
                    Paragraph(_markup(immunization.performer), styles["cell"]),
                    Paragraph(_markup(immunization.source_label), styles["cell"]),
                ]
            )
        table = Table(data, colWidths=[width * share for share in widths], repeatRows=1, hAlign="LEFT")
        table.setStyle(style)
        tables.append(table)
    return tables


def _measure_line(measure: Measure) -> str:
    value = _decimal(measure.value)
    unit = {"kg/m2": "kg/m²"}.get(measure.unit, measure.unit)
    label = measure.get_kind_display()
    when = long_date(measure.effective_at.astimezone(PARIS).date())
    return (
        _markup(f"{label} : ", bold=True)
        + _markup(f"{value} {unit}")
        + _markup(" " + _("(le %(date)s)") % {"date": when})
    )


# --- Formatting ---


def _period(start: date | None, end: date | None) -> str:
    if start and end:
        return _("Du %(start)s au %(end)s") % {"start": long_date(start), "end": long_date(end)}
    if start:
        return _("Depuis le %(date)s") % {"date": long_date(start)}
    if end:
        return _("Jusqu’au %(date)s") % {"date": long_date(end)}
    return ""


def _decimal(value: Decimal) -> str:
    return format(value.normalize(), "f").replace(".", ",")


def _spaced_ins(ins: str) -> str:
    """The matricule as printed on the carte Vitale: 2 77 01 01 154 003 29."""
    if len(ins) != 15:
        return ins
    return " ".join((ins[0], ins[1:3], ins[3:5], ins[5:7], ins[7:10], ins[10:13], ins[13:15]))


def _markup(text: str, *, bold: bool = False) -> str:
    """``text`` as reportlab paragraph markup: escaped, line breaks kept, and characters WinAnsi lacks in Vera."""
    fallback = FALLBACK_FONT_BOLD if bold else FALLBACK_FONT
    parts: list[str] = []
    for line_number, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n")):
        if line_number:
            parts.append("<br/>")
        run, run_fallback = [], False
        for character in line:
            needs_fallback = not _winansi(character) and _fallback_has(character)
            if needs_fallback != run_fallback and run:
                parts.append(_run("".join(run), fallback if run_fallback else None))
                run = []
            run_fallback = needs_fallback
            run.append(character)
        if run:
            parts.append(_run("".join(run), fallback if run_fallback else None))
    markup = "".join(parts)
    return f"<b>{markup}</b>" if bold else markup


def _run(text: str, font: str | None) -> str:
    escaped = escape(text)
    return f'<font name="{font}">{escaped}</font>' if font else escaped


@cache
def _winansi(character: str) -> bool:
    try:
        character.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


@cache
def _fallback_has(character: str) -> bool:
    from reportlab.pdfbase import pdfmetrics

    return ord(character) in pdfmetrics.getFont(FALLBACK_FONT).face.charToGlyph


@cache
def _register_fallback_fonts() -> None:
    import reportlab
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    folder = os.path.join(os.path.dirname(reportlab.__file__), "fonts")
    pdfmetrics.registerFont(TTFont(FALLBACK_FONT, os.path.join(folder, "Vera.ttf")))
    pdfmetrics.registerFont(TTFont(FALLBACK_FONT_BOLD, os.path.join(folder, "VeraBd.ttf")))
    # <b> inside a fallback run picks the bold face.
    addMapping(FALLBACK_FONT, 0, 0, FALLBACK_FONT)
    addMapping(FALLBACK_FONT, 1, 0, FALLBACK_FONT_BOLD)
    addMapping(FALLBACK_FONT, 0, 1, FALLBACK_FONT)
    addMapping(FALLBACK_FONT, 1, 1, FALLBACK_FONT_BOLD)


@cache
def _styles() -> dict:
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm

    blue = colors.HexColor("#000091")  # the DSFR's « bleu France »
    body = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=13, splitLongWords=True)
    return {
        "title": ParagraphStyle("title", parent=body, fontName=FONT_BOLD, fontSize=18, leading=22, textColor=blue),
        "h2": ParagraphStyle(
            "h2",
            parent=body,
            fontName=FONT_BOLD,
            fontSize=13,
            leading=16,
            textColor=blue,
            spaceBefore=6 * mm,
            spaceAfter=2 * mm,
            keepWithNext=True,
        ),
        "body": body,
        "entry": ParagraphStyle("entry", parent=body, spaceBefore=2 * mm, keepWithNext=True),
        "detail": ParagraphStyle("detail", parent=body, leftIndent=4 * mm, textColor=colors.HexColor("#3a3a3a")),
        "empty": ParagraphStyle(
            "empty", parent=body, fontName="Helvetica-Oblique", textColor=colors.HexColor("#666666")
        ),
        "small": ParagraphStyle("small", parent=body, fontSize=9, leading=12, spaceBefore=1 * mm),
        "cell": ParagraphStyle("cell", parent=body, fontSize=8.5, leading=10.5),
        "cell_label": ParagraphStyle("cell_label", parent=body, fontName=FONT_BOLD, fontSize=9.5, leading=12),
        "cell_header": ParagraphStyle("cell_header", parent=body, fontName=FONT_BOLD, fontSize=8.5, leading=10.5),
    }


def _numbered_canvas(footer: str):
    """A canvas that holds every page until the end, then writes « Page X sur Y » on each (one pass, linear)."""
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    class NumberedCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self._draw_footer(total)
                super().showPage()
            super().save()

        def _draw_footer(self, total: int) -> None:
            width, _height = self._pagesize
            self.saveState()
            self.setFont(FONT, 8)
            self.setFillGray(0.3)
            self.drawString(18 * mm, 10 * mm, footer)
            self.drawRightString(
                width - 18 * mm, 10 * mm, _("Page %(page)s sur %(total)s") % {"page": self._pageNumber, "total": total}
            )
            self.restoreState()

    return NumberedCanvas
