"""Hash chain and append-only guard of the journal, in the database so every insert path is covered."""

from django.db import migrations

CHAIN_SQL = r"""
CREATE FUNCTION acces_journal_hash(
    prev_hash text, seq bigint, created_at timestamptz, actor_id bigint, actor_label text, action text,
    citizen_id bigint, object_type text, object_id text, details jsonb
) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT encode(sha256(convert_to(concat_ws('|',
        prev_hash,
        seq::text,
        to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        coalesce(actor_id::text, ''),
        actor_label,
        action,
        coalesce(citizen_id::text, ''),
        object_type,
        object_id,
        details::text
    ), 'UTF8')), 'hex')
$$;

CREATE FUNCTION acces_journal_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    state text := current_setting('mes.journal_head', true);
    head_seq bigint;
    head_hash text;
BEGIN
    IF state IS NULL OR state = '' THEN
        -- First journal row of this transaction: lock the head row, which orders concurrent writers until
        -- their commit. Within the transaction the head travels in a transaction-local setting (rolled back
        -- with the transaction or savepoint), and is written back once per statement (see below), not per row.
        SELECT seq, last_hash INTO head_seq, head_hash FROM acces_journalhead WHERE id = 1 FOR UPDATE;
        IF NOT FOUND THEN
            INSERT INTO acces_journalhead (id, seq, last_hash) VALUES (1, 0, repeat('0', 64))
                ON CONFLICT (id) DO NOTHING;
            SELECT seq, last_hash INTO head_seq, head_hash FROM acces_journalhead WHERE id = 1 FOR UPDATE;
        END IF;
    ELSE
        head_seq := split_part(state, ':', 1)::bigint;
        head_hash := split_part(state, ':', 2);
    END IF;
    NEW.seq := head_seq + 1;
    NEW.created_at := coalesce(NEW.created_at, clock_timestamp());
    NEW.details := coalesce(NEW.details, '{}'::jsonb);
    NEW.prev_hash := head_hash;
    NEW.hash := acces_journal_hash(NEW.prev_hash, NEW.seq, NEW.created_at, NEW.actor_id, NEW.actor_label,
                                   NEW.action, NEW.citizen_id, NEW.object_type, NEW.object_id, NEW.details);
    PERFORM set_config('mes.journal_head', NEW.seq || ':' || NEW.hash, true);
    RETURN NEW;
END
$$;

CREATE FUNCTION acces_journal_store_head() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    state text := current_setting('mes.journal_head', true);
BEGIN
    IF state IS NOT NULL AND state <> '' THEN
        UPDATE acces_journalhead
           SET seq = split_part(state, ':', 1)::bigint, last_hash = split_part(state, ':', 2)
         WHERE id = 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION acces_journal_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'Le journal est en ajout seul : % refusé.', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER acces_journal_chain BEFORE INSERT ON acces_journalentry
    FOR EACH ROW EXECUTE FUNCTION acces_journal_chain();
CREATE TRIGGER acces_journal_store_head AFTER INSERT ON acces_journalentry
    FOR EACH STATEMENT EXECUTE FUNCTION acces_journal_store_head();
CREATE TRIGGER acces_journal_append_only BEFORE UPDATE OR DELETE ON acces_journalentry
    FOR EACH ROW EXECUTE FUNCTION acces_journal_refuse_change();
INSERT INTO acces_journalhead (id, seq, last_hash) VALUES (1, 0, repeat('0', 64)) ON CONFLICT (id) DO NOTHING;
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS acces_journal_append_only ON acces_journalentry;
DROP TRIGGER IF EXISTS acces_journal_store_head ON acces_journalentry;
DROP TRIGGER IF EXISTS acces_journal_chain ON acces_journalentry;
DROP FUNCTION IF EXISTS acces_journal_store_head();
DROP FUNCTION IF EXISTS acces_journal_refuse_change();
DROP FUNCTION IF EXISTS acces_journal_chain();
DROP FUNCTION IF EXISTS acces_journal_hash(text, bigint, timestamptz, bigint, text, text, bigint, text, text, jsonb);
"""


class Migration(migrations.Migration):
    dependencies = [("acces", "0001_initial")]

    operations = [migrations.RunSQL(CHAIN_SQL, REVERSE_SQL)]
