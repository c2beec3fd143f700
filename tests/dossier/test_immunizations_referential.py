"""The referential of the vaccines: ATC codes of group J07, one entry per code, the French calendar covered."""

import re

from dossier.vaccines import ATC_SYSTEM, VACCINES, vaccine_by_code, vaccine_choices


def test_codes_are_atc_vaccine_codes_and_unique():
    assert ATC_SYSTEM == "http://www.whocc.no/atc"
    for code, vaccine in VACCINES.items():
        assert re.fullmatch(r"J07[A-Z]{2}[0-9]{2}", code), code
        assert vaccine.code == code and vaccine.label


def test_the_french_calendar_and_common_vaccines_are_there():
    expected = {
        "J07CA09": "Hexavalent",  # DTCaPolio-Hib-HépB of infants
        "J07CA02": "DTCaPolio",
        "J07CA01": "dTPolio",
        "J07AJ52": "Coqueluche",
        "J07BD52": "ROR",
        "J07BC01": "Hépatite B",
        "J07AL02": "Pneumocoque",
        "J07AH07": "Méningocoque C",
        "J07AH08": "Méningocoques A, C, W et Y",
        "J07AH09": "Méningocoque B",
        "J07BM03": "HPV",
        "J07BB02": "Grippe",
        "J07BN01": "COVID-19",
        "J07BK03": "Zona",
        "J07AN01": "BCG",
        "J07BL01": "Fièvre jaune",
        "J07BG01": "Rage",
        "J07AM01": "Tétanos",
    }
    for code, words in expected.items():
        assert words in vaccine_by_code(code).label, code


def test_choices_are_grouped_and_cover_the_whole_referential():
    groups = vaccine_choices()
    codes = [code for _, options in groups for code, _ in options]
    assert sorted(codes) == sorted(VACCINES)
    assert len(groups) == 5
    label = dict(option for _, options in groups for option in options)["J07BD52"]
    assert label == "Rougeole, oreillons, rubéole (ROR) — M-M-RVaxPro, Priorix"


def test_unknown_code():
    assert vaccine_by_code("J07XX99") is None
