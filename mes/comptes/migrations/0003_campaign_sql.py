"""SQL helpers of the campaign import (mes.comptes.services.campaigns): the same checks as
mes/comptes/identifiers.py and the French date format, as immutable SQL functions that never raise, so that a
whole file is validated set-based, one reason per line.

Each function is a single SQL expression (inlined by the planner). CASE branches are evaluated in order, so a cast
only runs once the text is known to have the right shape.
"""

from django.db import migrations

FORWARD = r"""
-- The compact form of a matricule INS, as mes.comptes.identifiers.normalize_ins.
CREATE FUNCTION comptes_ins_normalize(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT upper(translate(coalesce(value, ''), E' .-\t\r\n', ''))
$$;

-- True when the text is made of ASCII digits only (empty text included): translate() is much cheaper than a regex.
CREATE FUNCTION comptes_digits_only(value text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT translate(value, '0123456789', '') = ''
$$;

-- The two-digit key of a 13-character NIR, as mes.comptes.identifiers.ins_key: 97 − (NIR mod 97), Corsica's
-- 2A and 2B counted as 19 and 18.
CREATE FUNCTION comptes_ins_key(nir text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT lpad((97 - (CASE substr(nir, 6, 2)
                          WHEN '2A' THEN overlay(nir PLACING '19' FROM 6 FOR 2)
                          WHEN '2B' THEN overlay(nir PLACING '18' FROM 6 FOR 2)
                          ELSE nir END)::bigint % 97)::text, 2, '0')
$$;

-- NULL when a compact matricule INS is valid, otherwise the French reason (same order and wording as
-- mes.comptes.identifiers.validate_ins). Corsica: 2A → 19 and 2B → 18 before the modulo.
CREATE FUNCTION comptes_ins_error(ins text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN length(ins) <> 15 THEN
            'Le matricule INS doit comporter 15 caractères (13 pour le NIR et 2 pour la clé), '
            || length(ins)::text || ' reçus.'
        WHEN NOT (comptes_digits_only(substr(ins, 1, 5) || substr(ins, 8, 8))
                  AND (substr(ins, 6, 2) IN ('2A', '2B') OR comptes_digits_only(substr(ins, 6, 2)))) THEN
            'Le matricule INS ne contient que des chiffres (et 2A ou 2B pour un département de Corse).'
        WHEN substr(ins, 1, 1) NOT IN ('1', '2', '3', '4', '7', '8') THEN
            'Le premier chiffre du matricule INS (le sexe) doit valoir 1 ou 2.'
        WHEN NOT (substr(ins, 4, 2)::int BETWEEN 1 AND 12 OR substr(ins, 4, 2)::int BETWEEN 20 AND 42
                  OR substr(ins, 4, 2)::int BETWEEN 50 AND 99) THEN
            'Le mois de naissance du matricule INS (' || substr(ins, 4, 2) || ') est impossible.'
        WHEN comptes_ins_key(substr(ins, 1, 13)) <> substr(ins, 14, 2) THEN
            'La clé du matricule INS est fausse : vérifiez les 15 caractères saisis.'
    END
$$;

-- A JJ/MM/AAAA date, or NULL when the text is not one (31/02, 00/01, letters...). Never raises.
CREATE FUNCTION comptes_fr_date(value text) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN value IS NULL OR length(value) <> 10 OR substr(value, 3, 1) <> '/' OR substr(value, 6, 1) <> '/'
             OR NOT comptes_digits_only(substr(value, 1, 2) || substr(value, 4, 2) || substr(value, 7, 4)) THEN NULL
        WHEN substr(value, 4, 2)::int NOT BETWEEN 1 AND 12 OR substr(value, 7, 4)::int < 1800 THEN NULL
        WHEN substr(value, 1, 2)::int NOT BETWEEN 1 AND (
            CASE
                WHEN substr(value, 4, 2)::int IN (4, 6, 9, 11) THEN 30
                WHEN substr(value, 4, 2)::int <> 2 THEN 31
                WHEN substr(value, 7, 4)::int % 400 = 0
                     OR (substr(value, 7, 4)::int % 4 = 0 AND substr(value, 7, 4)::int % 100 <> 0) THEN 29
                ELSE 28
            END) THEN NULL
        ELSE make_date(substr(value, 7, 4)::int, substr(value, 4, 2)::int, substr(value, 1, 2)::int)
    END
$$;

-- True for a French département code: 01 to 95 (not 20), 2A, 2B, 971 to 974 and 976.
CREATE FUNCTION comptes_department_valid(code text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN code IN ('2A', '2B', '971', '972', '973', '974', '976') THEN true
        WHEN length(code) <> 2 OR NOT comptes_digits_only(code) THEN false
        ELSE code::int BETWEEN 1 AND 95 AND code <> '20'
    END
$$;
"""

BACKWARD = """
DROP FUNCTION IF EXISTS comptes_department_valid(text);
DROP FUNCTION IF EXISTS comptes_fr_date(text);
DROP FUNCTION IF EXISTS comptes_ins_error(text);
DROP FUNCTION IF EXISTS comptes_ins_key(text);
DROP FUNCTION IF EXISTS comptes_ins_normalize(text);
DROP FUNCTION IF EXISTS comptes_digits_only(text);
"""


class Migration(migrations.Migration):
    dependencies = [("comptes", "0002_citizen_lifecycle")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
