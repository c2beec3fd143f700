"""Seals, hash chain and append-only guard of the journal, in the database so every insert path is covered."""

from django.db import migrations

CHAIN_SQL = r"""
-- The canonical text of one journal row; the seal hashes these texts in seq order.
CREATE FUNCTION acces_journal_row_text(
    seq bigint, created_at timestamptz, actor_id bigint, actor_label text, action text,
    citizen_id bigint, object_type text, object_id text, details jsonb
) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT concat_ws('|',
        seq::text,
        to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        coalesce(actor_id::text, ''),
        actor_label,
        action,
        coalesce(citizen_id::text, ''),
        object_type,
        object_id,
        details::text)
$$;

CREATE FUNCTION acces_journal_seal_hash(prev_hash text, body text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT encode(sha256(convert_to(prev_hash || E'\n' || coalesce(body, ''), 'UTF8')), 'hex')
$$;

CREATE FUNCTION acces_journal_seal() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    row_count integer;
    first_seq bigint;
    last_seq bigint;
    min_xact bigint;
    max_xact bigint;
    body text;
    prev text;
    sealed text;
BEGIN
    SELECT count(*), min(r.seq), max(r.seq), min(r.xact), max(r.xact),
           string_agg(acces_journal_row_text(r.seq, r.created_at, r.actor_id, r.actor_label, r.action,
                                             r.citizen_id, r.object_type, r.object_id, r.details),
                      E'\n' ORDER BY r.seq)
      INTO row_count, first_seq, last_seq, min_xact, max_xact, body
      FROM new_rows r;
    IF row_count = 0 THEN
        RETURN NULL;
    END IF;
    IF min_xact <> txid_current() OR max_xact <> txid_current() THEN
        RAISE EXCEPTION 'Le journal refuse une transaction d''écriture forgée.' USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- The head row's lock orders the seals of concurrent writers; it is held until their transaction ends.
    SELECT last_hash INTO prev FROM acces_journalhead WHERE id = 1 FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO acces_journalhead (id, last_hash) VALUES (1, repeat('0', 64)) ON CONFLICT (id) DO NOTHING;
        SELECT last_hash INTO prev FROM acces_journalhead WHERE id = 1 FOR UPDATE;
    END IF;
    sealed := acces_journal_seal_hash(prev, body);
    INSERT INTO acces_journalseal (xact, first_seq, last_seq, row_count, prev_hash, hash)
        VALUES (min_xact, first_seq, last_seq, row_count, prev, sealed);
    UPDATE acces_journalhead SET last_hash = sealed WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE FUNCTION acces_journal_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'Le journal est en ajout seul : % refusé.', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER acces_journal_seal AFTER INSERT ON acces_journalentry
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION acces_journal_seal();
CREATE TRIGGER acces_journal_append_only BEFORE UPDATE OR DELETE ON acces_journalentry
    FOR EACH ROW EXECUTE FUNCTION acces_journal_refuse_change();
CREATE TRIGGER acces_journalseal_append_only BEFORE UPDATE OR DELETE ON acces_journalseal
    FOR EACH ROW EXECUTE FUNCTION acces_journal_refuse_change();
INSERT INTO acces_journalhead (id, last_hash) VALUES (1, repeat('0', 64)) ON CONFLICT (id) DO NOTHING;
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS acces_journalseal_append_only ON acces_journalseal;
DROP TRIGGER IF EXISTS acces_journal_append_only ON acces_journalentry;
DROP TRIGGER IF EXISTS acces_journal_seal ON acces_journalentry;
DROP FUNCTION IF EXISTS acces_journal_refuse_change();
DROP FUNCTION IF EXISTS acces_journal_seal();
DROP FUNCTION IF EXISTS acces_journal_seal_hash(text, text);
DROP FUNCTION IF EXISTS acces_journal_row_text(bigint, timestamptz, bigint, text, text, bigint, text, text, jsonb);
"""


class Migration(migrations.Migration):
    dependencies = [("acces", "0001_initial")]

    operations = [migrations.RunSQL(CHAIN_SQL, REVERSE_SQL)]
