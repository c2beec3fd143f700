"""The templates of the questionnaires answered offline (mode ``modele``: RGPD, sécurité des échanges de données).

``template_workbook`` generates an .xlsx from the referential: one sheet, a header block naming the product, the
referential version, the questionnaire and the platform, then one row per criterion with a drop-down list on the
answer cell where the answer is a choice. The sheet is protected except the answer and comment cells.

``template_import`` reads a filled workbook back. The file is checked before openpyxl opens it (an .xlsx is a zip:
its size, its number of entries and their uncompressed size are bounded — Python's zipfile never inflates an entry
beyond its declared size — so a zip bomb is refused), then read in ``read_only`` mode, values only. The header must
name this product, this version and this questionnaire; each row's answer is mapped back from its French label and
validated like an answer given on the portal. Nothing is saved if any row is refused; otherwise every changed answer
is saved through ``answer_save`` in one transaction, the product and its answers locked: an upload is the
uploader's explicit overwrite of the questionnaire.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from xml.etree.ElementTree import ParseError

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from convergence.exports import YES_NO_NA_LABELS, answer_label, expected_label, platform_label
from convergence.models import Answer, CriterionType, Product, Questionnaire, QuestionnaireMode, Requirement
from convergence.services import AnswerConflict, answer_save, answer_value_clean, is_member
from mes.acces.journal import register_action
from mes.acces.services import journal_append
from mes.comptes.models import User

__all__ = [
    "TEMPLATE_MAX_BYTES",
    "TEMPLATE_MAX_UNCOMPRESSED_BYTES",
    "TemplateImport",
    "TemplateRefused",
    "template_filename",
    "template_import",
    "template_workbook",
]

TEMPLATE_IMPORTED = "convergence.modele.depose"
register_action(TEMPLATE_IMPORTED, gettext_lazy("Dépôt d’un modèle de questionnaire Convergence rempli"))

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TEMPLATE_MAX_BYTES = 2 * 1024 * 1024
TEMPLATE_MAX_UNCOMPRESSED_BYTES = 20 * 1024 * 1024
TEMPLATE_MAX_ENTRIES = 200
TEMPLATE_MAX_ROWS = 1000

# The layout of the sheet: the header block's values in column B, the criteria from FIRST_ROW on.
TITLE_CELL = "A1"
REFERENCE_CELL = "B3"
VERSION_CELL = "B4"
QUESTIONNAIRE_CELL = "B5"
PLATFORM_CELL = "B6"
HEADER_ROW = 9
FIRST_ROW = HEADER_ROW + 1
COLUMNS = ("Identifiant", "Section", "Critère", "Aide", "Exigence", "Niveau attendu", "Réponse", "Commentaire")
ID_COLUMN, ANSWER_COLUMN, COMMENT_COLUMN = 1, 7, 8
WIDTHS = (12, 28, 60, 50, 13, 30, 30, 40)
# The drop-down lists live in hidden columns of the same sheet, from column K on.
LISTS_FIRST_COLUMN = 11
EVIDENCE_ANSWER = "Preuve à déposer sur le portail"


class TemplateRefused(Exception):
    """The workbook was refused as a whole (not an .xlsx, too large, another product…): nothing was saved."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


@dataclass
class TemplateImport:
    """The outcome of reading a filled workbook: the refused rows (in French), or the number of answers saved."""

    errors: list[str] = field(default_factory=list)
    saved: int = 0
    unchanged: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def template_filename(product: Product, questionnaire: Questionnaire, platform: str = "") -> str:
    suffix = f"-{platform}" if platform else ""
    return f"convergence-{product.reference}-{questionnaire.code}{suffix}.xlsx"


def _criteria(questionnaire: Questionnaire) -> list:
    return [criterion for section in questionnaire.sections.all() for criterion in section.criteria.all()]


def _sections(questionnaire: Questionnaire) -> dict[int, str]:
    return {section.pk: section.title for section in questionnaire.sections.all()}


def _number_cell(value):
    return int(value) if float(value).is_integer() else float(value)


# --- Generation -------------------------------------------------------------------------------------------------


def template_workbook(product: Product, questionnaire: Questionnaire, platform: str = "") -> bytes:
    """The .xlsx of ``questionnaire`` for ``product`` (and ``platform`` when it answers per platform), pre-filled
    with the answers already given. ``questionnaire`` comes with its sections and criteria prefetched
    (``referential_questionnaires``)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill, Protection
    from openpyxl.utils import get_column_letter
    from openpyxl.workbook.protection import WorkbookProtection
    from openpyxl.worksheet.datavalidation import DataValidation

    answers = {answer.criterion_id: answer for answer in Answer.objects.filter(product=product, platform=platform)}
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = questionnaire.code[:31]
    bold = Font(bold=True)
    sheet[TITLE_CELL] = f"Convergence — {questionnaire.title}"
    sheet[TITLE_CELL].font = Font(bold=True, size=14)
    sheet["A2"] = f"{product.name} {product.version} — {product.organisation.name}"
    header = (
        ("Référence du produit", product.reference),
        ("Version du référentiel", product.referential.version),
        ("Questionnaire", questionnaire.code),
        ("Plateforme", platform_label(platform)),
    )
    for row, (label, value) in enumerate(header, start=3):
        sheet.cell(row=row, column=1, value=label).font = bold
        sheet.cell(row=row, column=2, value=value)
    sheet["A7"] = (
        "Renseignez les colonnes « Réponse » et « Commentaire » seulement, puis déposez ce fichier sur le portail. "
        "Ne modifiez pas la référence, la version ni les identifiants. Les preuves se déposent sur le portail."
    )
    sheet["A7"].alignment = Alignment(wrap_text=False)
    fill = PatternFill("solid", fgColor="E3E3FD")
    for column, title in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=HEADER_ROW, column=column, value=title)
        cell.font, cell.fill = bold, fill
    for column, width in enumerate(WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = sheet.cell(row=FIRST_ROW, column=3)

    lists: dict[tuple[str, ...], str] = {}

    def list_range(labels: tuple[str, ...]) -> str:
        if labels not in lists:
            column = get_column_letter(LISTS_FIRST_COLUMN + len(lists))
            for row, label in enumerate(labels, start=1):
                sheet[f"{column}{row}"] = label
            sheet.column_dimensions[column].hidden = True
            lists[labels] = f"${column}$1:${column}${len(labels)}"
        return lists[labels]

    validations: dict[str, DataValidation] = {}

    def validate(cell: str, formula: str, **options) -> None:
        key = formula + repr(sorted(options.items()))
        if key not in validations:
            validation = DataValidation(
                formula1=formula,
                allow_blank=True,
                showErrorMessage=True,
                errorTitle="Réponse non admise",
                **options,
            )
            sheet.add_data_validation(validation)
            validations[key] = validation
        validations[key].add(cell)

    unlocked = Protection(locked=False)
    wrap = Alignment(wrap_text=True, vertical="top")
    sections = _sections(questionnaire)
    for row, criterion in enumerate(_criteria(questionnaire), start=FIRST_ROW):
        answer = answers.get(criterion.pk)
        values = (
            criterion.criterion_id,
            sections[criterion.section_id],
            criterion.wording,
            criterion.help,
            str(Requirement(criterion.requirement).label),
            expected_label(criterion),
        )
        for column, value in enumerate(values, start=1):
            sheet.cell(row=row, column=column, value=value).alignment = wrap
        answer_cell = sheet.cell(row=row, column=ANSWER_COLUMN)
        comment_cell = sheet.cell(row=row, column=COMMENT_COLUMN, value=answer.comment if answer else None)
        comment_cell.protection, comment_cell.alignment = unlocked, wrap
        coordinate = answer_cell.coordinate
        value = answer.value if answer else None
        if criterion.type == CriterionType.EVIDENCE:
            answer_cell.value = EVIDENCE_ANSWER
            continue
        answer_cell.protection, answer_cell.alignment = unlocked, wrap
        if criterion.type == CriterionType.YES_NO_NA:
            answer_cell.value = answer_label(criterion, value) or None
            validate(
                coordinate,
                list_range(tuple(YES_NO_NA_LABELS.values())),
                type="list",
                error="Choisissez Oui, Non ou Non applicable dans la liste.",
            )
        elif criterion.type == CriterionType.CHOICE:
            answer_cell.value = answer_label(criterion, value) or None
            labels = tuple(choice["label"] for choice in criterion.choices)
            validate(coordinate, list_range(labels), type="list", error="Choisissez une réponse dans la liste.")
        elif criterion.type == CriterionType.NUMBER:
            answer_cell.value = _number_cell(value) if value is not None else None
            low = criterion.min_value if criterion.min_value is not None else Decimal("-1e12")
            high = criterion.max_value if criterion.max_value is not None else Decimal("1e12")
            validate(
                coordinate,
                format(low.normalize(), "f"),
                type="decimal",
                operator="between",
                formula2=format(high.normalize(), "f"),
                error="Indiquez un nombre" + (f" en {criterion.unit}" if criterion.unit else "") + " dans les bornes.",
            )
        else:
            answer_cell.value = value or None
    sheet.protection.sheet = True
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False
    workbook.security = WorkbookProtection(lockStructure=True)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- Reading back -------------------------------------------------------------------------------------------------


def _not_xlsx() -> TemplateRefused:
    return TemplateRefused(
        _("Ce fichier n’est pas un classeur .xlsx : déposez le modèle téléchargé depuis le portail.")
    )


def _workbook_open(upload):
    """Open ``upload`` with openpyxl, once the zip it is made of has been checked."""
    from openpyxl import load_workbook

    size = getattr(upload, "size", None)
    if size is not None and size > TEMPLATE_MAX_BYTES:
        raise TemplateRefused(_too_large())
    upload.seek(0)
    content = upload.read(TEMPLATE_MAX_BYTES + 1)
    if len(content) > TEMPLATE_MAX_BYTES:
        raise TemplateRefused(_too_large())
    if not content:
        raise TemplateRefused(_("Le fichier est vide."))
    if not content.startswith(b"PK\x03\x04"):
        raise _not_xlsx()
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            entries = archive.infolist()
            names = {entry.filename for entry in entries}
            if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
                raise _not_xlsx()
            if len(entries) > TEMPLATE_MAX_ENTRIES or sum(entry.file_size for entry in entries) > (
                TEMPLATE_MAX_UNCOMPRESSED_BYTES
            ):
                raise TemplateRefused(
                    _("Ce classeur est anormalement volumineux une fois décompressé : il est refusé.")
                )
            if any(entry.flag_bits & 0x1 for entry in entries):
                raise _not_xlsx()
    except zipfile.BadZipFile:
        raise _not_xlsx() from None
    return load_workbook(io.BytesIO(content), read_only=True, data_only=True)


# What openpyxl raises on a damaged workbook, while opening it or reading its rows: all mean the same to the editor.
DAMAGED_WORKBOOK_ERRORS = (
    zipfile.BadZipFile,
    ParseError,
    KeyError,
    IndexError,
    ValueError,
    TypeError,
    AttributeError,
    OSError,
)


def _workbook_read(upload) -> tuple[dict[str, str], list[tuple[int, tuple]]]:
    """The header block and the non-empty rows of the criteria (with their row number) of ``upload``."""
    try:
        workbook = _workbook_open(upload)
        try:
            sheet = workbook.worksheets[0]
            header = {
                key: _text(sheet[cell].value)
                for key, cell in (
                    ("reference", REFERENCE_CELL),
                    ("version", VERSION_CELL),
                    ("questionnaire", QUESTIONNAIRE_CELL),
                    ("platform", PLATFORM_CELL),
                )
            }
            rows = []
            for number, cells in enumerate(
                sheet.iter_rows(min_row=FIRST_ROW, max_col=COMMENT_COLUMN, values_only=True), start=FIRST_ROW
            ):
                if number >= FIRST_ROW + TEMPLATE_MAX_ROWS:
                    raise TemplateRefused(_("Ce classeur compte trop de lignes : déposez le modèle du portail."))
                cells = tuple(cells) + (None,) * (COMMENT_COLUMN - len(cells))
                if all(_text(value) == "" for value in cells):
                    continue
                rows.append((number, cells))
        finally:
            workbook.close()
    except DAMAGED_WORKBOOK_ERRORS:
        raise _not_xlsx() from None
    return header, rows


def _too_large() -> str:
    return _("Le fichier dépasse la taille maximale autorisée de %(limit)s Mo.") % {
        "limit": TEMPLATE_MAX_BYTES // (1024 * 1024)
    }


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _answer_value(criterion, raw):
    """The stored value for the cell ``raw`` of ``criterion`` (French labels mapped back), validated like an answer
    given on the portal; ``ValidationError`` in French."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if criterion.type == CriterionType.YES_NO_NA:
        text = _text(raw).casefold()
        mapping = {label.casefold(): value for value, label in YES_NO_NA_LABELS.items()}
        mapping.update({value: value for value in YES_NO_NA_LABELS})
        mapping["n/a"] = "na"
        raw = mapping.get(text, _text(raw))
    elif criterion.type == CriterionType.CHOICE:
        text = _text(raw).casefold()
        mapping = {choice["label"].casefold(): choice["value"] for choice in criterion.choices}
        mapping.update({choice["value"]: choice["value"] for choice in criterion.choices})
        raw = mapping.get(text, _text(raw))
    elif criterion.type == CriterionType.NUMBER:
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise ValidationError(_("La réponse doit être un nombre, par exemple 75 ou 12,5."))
        if isinstance(raw, str) and criterion.unit:
            raw = raw.strip().removesuffix(criterion.unit).strip()
    elif criterion.type == CriterionType.TEXT:
        raw = _text(raw)
    return answer_value_clean(criterion, raw)


def _platform_from_label(product: Product, label: str) -> str | None:
    for platform in product.answer_platforms:
        if platform_label(platform).casefold() == label.casefold():
            return platform
    return None


@transaction.atomic
def template_import(*, actor: User, product: Product, questionnaire: Questionnaire, upload) -> TemplateImport:
    """Read the filled template ``upload`` of ``questionnaire`` and save its answers (see the module's docstring).

    ``TemplateRefused`` when the file as a whole is refused; a ``TemplateImport`` whose ``errors`` list the refused
    rows (and nothing saved), or the number of answers saved.
    """
    if not is_member(actor, product.organisation_id):
        raise PermissionDenied(_("Vous n’êtes pas membre de l’organisation éditrice de ce produit."))
    if questionnaire.referential_id != product.referential_id or questionnaire.mode != QuestionnaireMode.TEMPLATE:
        raise TemplateRefused(_("Ce questionnaire ne se remplit pas avec un modèle pour ce produit."))
    if not questionnaire.requires(product.procedure):
        raise TemplateRefused(_("Ce questionnaire n’est pas demandé pour la démarche de ce produit."))
    header, rows = _workbook_read(upload)
    if header["reference"] != product.reference:
        raise TemplateRefused(
            _("Ce modèle a été téléchargé pour le produit « %(found)s », pas pour %(reference)s : il est refusé.")
            % {"found": header["reference"] or "?", "reference": product.reference}
        )
    if header["version"] != product.referential.version:
        raise TemplateRefused(
            _(
                "Ce modèle suit la version « %(found)s » du référentiel, le produit la version %(version)s : "
                "téléchargez de nouveau le modèle."
            )
            % {"found": header["version"] or "?", "version": product.referential.version}
        )
    if header["questionnaire"] != questionnaire.code:
        raise TemplateRefused(
            _("Ce modèle est celui du questionnaire « %(found)s », pas de « %(title)s ».")
            % {"found": header["questionnaire"] or "?", "title": questionnaire.title}
        )
    platform = _platform_from_label(product, header["platform"])
    if platform is None:
        raise TemplateRefused(
            _("La plateforme « %(found)s » du modèle n’est pas l’une de celles auxquelles ce produit répond.")
            % {"found": header["platform"] or "?"}
        )

    criteria = {criterion.criterion_id: criterion for criterion in _criteria(questionnaire)}
    result = TemplateImport()
    seen: set[str] = set()
    cleaned = []
    for number, cells in rows:
        criterion_id = _text(cells[ID_COLUMN - 1])
        criterion = criteria.get(criterion_id)
        prefix = _("Ligne %(row)s (%(id)s)") % {"row": number, "id": criterion_id or _("sans identifiant")}
        if criterion is None:
            result.errors.append(prefix + _(" : identifiant de critère inconnu dans ce questionnaire."))
            continue
        if criterion_id in seen:
            result.errors.append(prefix + _(" : ce critère figure déjà plus haut dans le classeur."))
            continue
        seen.add(criterion_id)
        criterion.questionnaire = questionnaire  # already loaded: answer_save reads its procedures
        comment = _text(cells[COMMENT_COLUMN - 1])
        if criterion.type == CriterionType.EVIDENCE:
            cleaned.append((criterion, None, comment, True))
            continue
        try:
            value = _answer_value(criterion, cells[ANSWER_COLUMN - 1])
        except ValidationError as error:
            result.errors.append(f"{prefix} : {' '.join(error.messages)}")
            continue
        cleaned.append((criterion, value, comment, False))
    if result.errors:
        return result

    # Lock the product, then the answers of this questionnaire: concurrent saves wait for this transaction.
    Product.objects.select_for_update().get(pk=product.pk)
    current = {
        answer.criterion_id: answer
        for answer in Answer.objects.select_for_update().filter(
            product=product, platform=platform, criterion__questionnaire=questionnaire
        )
    }
    for criterion, value, comment, evidence_only in cleaned:
        answer = current.get(criterion.pk)
        if evidence_only:
            value = answer.value if answer else None
        if answer is None and value is None and not comment:
            result.unchanged += 1
            continue
        if answer is not None and answer.value == value and answer.comment == comment:
            result.unchanged += 1
            continue
        try:
            answer_save(
                actor=actor,
                product=product,
                criterion=criterion,
                platform=platform,
                value=value,
                comment=comment,
                expected_revision=answer.revision if answer else 0,
            )
        except AnswerConflict as conflict:
            # Only a first answer created by another member at this very moment: nothing of the file is kept.
            transaction.set_rollback(True)
            return TemplateImport(errors=[f"{criterion.criterion_id} : {conflict.message}"])
        except ValidationError as error:
            transaction.set_rollback(True)
            return TemplateImport(errors=[f"{criterion.criterion_id} : {' '.join(error.messages)}"])
        result.saved += 1
    journal_append(
        actor=actor,
        action=TEMPLATE_IMPORTED,
        obj=product,
        details={
            "reference": product.reference,
            "questionnaire": questionnaire.code,
            "plateforme": platform,
            "referentiel": product.referential.version,
            "reponses": result.saved,
        },
    )
    return result
