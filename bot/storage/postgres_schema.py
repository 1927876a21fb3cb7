"""The PostgreSQL schema: the same versioned migrations as the SQLite backend, in PostgreSQL's dialect.

Version N here builds what version N of :data:`bot.storage.sqlite.MIGRATIONS` builds (the same tables and
columns; ``tests/test_storage.py`` compares them). Never edit a released entry; append a new one to both.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS"]

#: The same versions as :data:`bot.storage.sqlite.MIGRATIONS`, in PostgreSQL's dialect. Append only.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE channel_settings (
        platform TEXT NOT NULL, channel_id TEXT NOT NULL,
        mode TEXT, cooldown_minutes DOUBLE PRECISION,
        PRIMARY KEY (platform, channel_id)
    );
    CREATE TABLE replies (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        platform TEXT NOT NULL, channel_id TEXT NOT NULL, server_id TEXT,
        message_id TEXT NOT NULL, author_id TEXT NOT NULL,
        claim_id TEXT NOT NULL, action TEXT NOT NULL, tier TEXT NOT NULL, score DOUBLE PRECISION NOT NULL,
        scores TEXT NOT NULL DEFAULT '{}', sent_id TEXT, ts DOUBLE PRECISION NOT NULL,
        reason TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX replies_channel_ts ON replies (platform, channel_id, ts);
    CREATE INDEX replies_author_ts ON replies (platform, author_id, ts);
    CREATE INDEX replies_message ON replies (platform, message_id);
    CREATE INDEX replies_sent ON replies (platform, sent_id);
    CREATE TABLE feedback (
        platform TEXT NOT NULL, reply_message_id TEXT NOT NULL, user_id TEXT NOT NULL,
        claim_id TEXT, helpful INTEGER NOT NULL, ts DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (platform, reply_message_id, user_id)
    );
    CREATE TABLE processed (
        platform TEXT NOT NULL, event_id TEXT NOT NULL, ts DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (platform, event_id)
    );
    CREATE TABLE decisions (
        platform TEXT NOT NULL, message_id TEXT NOT NULL, channel_id TEXT NOT NULL,
        claim_id TEXT, tier TEXT, action TEXT NOT NULL, reason TEXT NOT NULL,
        scores TEXT NOT NULL DEFAULT '{}', ts DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (platform, message_id)
    );
    CREATE INDEX decisions_ts ON decisions (ts);
    CREATE FUNCTION footnote_reply_is_decision() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO decisions (platform, message_id, channel_id, claim_id, tier, action, reason, scores, ts)
        VALUES (NEW.platform, NEW.message_id, NEW.channel_id, NEW.claim_id, NEW.tier, NEW.action, NEW.reason,
                NEW.scores, NEW.ts)
        ON CONFLICT (platform, message_id) DO UPDATE SET channel_id = EXCLUDED.channel_id,
            claim_id = EXCLUDED.claim_id, tier = EXCLUDED.tier, action = EXCLUDED.action,
            reason = EXCLUDED.reason, scores = EXCLUDED.scores, ts = EXCLUDED.ts;
        RETURN NEW;
    END $$;
    CREATE TRIGGER replies_are_decisions AFTER INSERT ON replies
        FOR EACH ROW EXECUTE FUNCTION footnote_reply_is_decision();
    CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # 2: per-channel thread mode (answer in a thread rather than as a reply; Discord).
    """
    ALTER TABLE channel_settings ADD COLUMN thread INTEGER;
    """,
    # 3: tenancy. Every reply and decision belongs to a server (see the SQLite migration 3 for the why).
    """
    UPDATE replies SET server_id = channel_id WHERE server_id IS NULL;
    ALTER TABLE decisions ADD COLUMN server_id TEXT;
    UPDATE decisions SET server_id = COALESCE(
        (SELECT r.server_id FROM replies r WHERE r.platform = decisions.platform
         AND r.message_id = decisions.message_id ORDER BY r.id DESC LIMIT 1), channel_id);
    CREATE INDEX replies_server_author_ts ON replies (platform, server_id, author_id, ts);
    CREATE INDEX replies_server_ts ON replies (platform, server_id, ts);
    CREATE INDEX decisions_server_ts ON decisions (platform, server_id, ts);
    CREATE OR REPLACE FUNCTION footnote_reply_is_decision() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO decisions (platform, message_id, channel_id, server_id, claim_id, tier, action, reason,
                               scores, ts)
        VALUES (NEW.platform, NEW.message_id, NEW.channel_id, NEW.server_id, NEW.claim_id, NEW.tier, NEW.action,
                NEW.reason, NEW.scores, NEW.ts)
        ON CONFLICT (platform, message_id) DO UPDATE SET channel_id = EXCLUDED.channel_id,
            server_id = EXCLUDED.server_id, claim_id = EXCLUDED.claim_id, tier = EXCLUDED.tier,
            action = EXCLUDED.action, reason = EXCLUDED.reason, scores = EXCLUDED.scores, ts = EXCLUDED.ts;
        RETURN NEW;
    END $$;
    DELETE FROM state WHERE key LIKE 'matrix.%.access_token';
    """,
)
