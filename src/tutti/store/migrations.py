"""Versioned schema. Each entry upgrades from version i to i+1; never edit a released entry,
append a new one. The database's `PRAGMA user_version` records how far it got."""

MIGRATIONS: list[str] = [
    # 1: the event spine, runs and steps
    """
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        ts TEXT NOT NULL,
        kind TEXT NOT NULL,
        workspace TEXT,
        agent TEXT,
        run_id TEXT,
        step TEXT,
        correlation_id TEXT,
        data TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX events_kind ON events(kind);
    CREATE INDEX events_run ON events(run_id);
    CREATE INDEX events_agent ON events(agent);

    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL DEFAULT 'workflow',
        workflow TEXT,
        origin TEXT,
        status TEXT NOT NULL,
        strict INTEGER NOT NULL DEFAULT 0,
        agent_scope TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        params TEXT NOT NULL DEFAULT '{}',
        result TEXT,
        cost_usd REAL NOT NULL DEFAULT 0,
        input_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0
    );

    CREATE TABLE steps (
        run_id TEXT NOT NULL REFERENCES runs(run_id),
        step_index INTEGER NOT NULL,
        step_key TEXT NOT NULL,
        step_type TEXT NOT NULL,
        status TEXT NOT NULL,
        attempt INTEGER NOT NULL DEFAULT 1,
        intent TEXT NOT NULL DEFAULT '{}',
        outcome TEXT,
        planned_at TEXT,
        started_at TEXT,
        finished_at TEXT,
        PRIMARY KEY (run_id, step_index)
    );

    CREATE TABLE idempotency (
        key TEXT PRIMARY KEY,
        action TEXT NOT NULL,
        state TEXT NOT NULL,
        response TEXT,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );

    CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        acquired_at TEXT NOT NULL,
        heartbeat_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        data TEXT NOT NULL DEFAULT '{}'
    );
    """,
    # usage: log files read so far (offset + reader state) and de-duplicated usage records
    """
    CREATE TABLE usage_files (
        path TEXT PRIMARY KEY,
        runtime TEXT NOT NULL,
        agent TEXT,
        inode INTEGER NOT NULL DEFAULT 0,
        offset INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL DEFAULT '{}',
        scanned_at TEXT NOT NULL
    );

    CREATE TABLE usage_records (
        key TEXT PRIMARY KEY,
        runtime TEXT NOT NULL,
        agent TEXT,
        ts TEXT NOT NULL,
        model TEXT,
        session_id TEXT,
        cwd TEXT,
        input_tokens INTEGER NOT NULL DEFAULT 0,
        cache_creation_tokens INTEGER NOT NULL DEFAULT 0,
        cache_read_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        reasoning_tokens INTEGER NOT NULL DEFAULT 0,
        path TEXT
    );
    CREATE INDEX usage_records_agent_ts ON usage_records(agent, ts);
    """,
    # 3: API-direct approvals — a pending tool call waits for an approve/deny decision row
    """
    CREATE TABLE approvals (
        approval_id TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        agent TEXT,
        tool TEXT NOT NULL,
        args TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL DEFAULT 'pending',
        requested_at TEXT NOT NULL,
        decided_at TEXT,
        decided_by TEXT,
        reason TEXT
    );
    CREATE INDEX approvals_run ON approvals(run_id, status);
    """,
    # 4: work intake — claim leases get a fencing token that only grows per key (a released
    # lease keeps its row so the next holder's token is larger); local-queue and webhook work
    # items, and the comments posted on them when worked
    """
    ALTER TABLE leases ADD COLUMN fencing_token INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE leases ADD COLUMN released_at TEXT;
    CREATE INDEX leases_expires ON leases(expires_at);

    CREATE TABLE intake_items (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        source TEXT NOT NULL,
        item_id TEXT NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL DEFAULT '',
        labels TEXT NOT NULL DEFAULT '[]',
        url TEXT,
        author TEXT,
        created_at TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'open',
        closed_at TEXT,
        data TEXT NOT NULL DEFAULT '{}',
        UNIQUE (source, item_id)
    );
    CREATE INDEX intake_items_state ON intake_items(source, state);

    CREATE TABLE intake_comments (
        comment_id INTEGER PRIMARY KEY AUTOINCREMENT,
        source TEXT NOT NULL,
        item_id TEXT NOT NULL,
        author TEXT,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX intake_comments_item ON intake_comments(source, item_id);
    """,
    # 5: agent-to-agent messages — an inbox per agent; the supervisor delivers a pending message
    # as a prompt when its recipient is idle (status pending -> delivering -> delivered | failed)
    """
    CREATE TABLE messages (
        msg_id INTEGER PRIMARY KEY AUTOINCREMENT,
        sender TEXT NOT NULL,
        recipient TEXT NOT NULL,
        body TEXT NOT NULL,
        reply_to INTEGER,
        depth INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL DEFAULT 'pending',
        created_at TEXT NOT NULL,
        claimed_at TEXT,
        delivered_at TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        idle_seq INTEGER,
        error TEXT
    );
    CREATE INDEX messages_inbox ON messages(recipient, status);
    CREATE INDEX messages_pair ON messages(sender, recipient, created_at);
    """,
    # 6: supervised command steps — one row per try of a step run under its own supervisor
    # process (`workflows/stepsup.py`). Before this migration the table was created on first use,
    # so a database may already hold it: IF NOT EXISTS keeps that database migrating cleanly.
    """
    CREATE TABLE IF NOT EXISTS step_attempts (
        run_id TEXT NOT NULL,
        step_index INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        try_no INTEGER NOT NULL,
        state TEXT NOT NULL,
        sup_pid INTEGER,
        sup_start INTEGER,
        child_pid INTEGER,
        child_start INTEGER,
        exit_code INTEGER,
        timed_out INTEGER NOT NULL DEFAULT 0,
        cancelled INTEGER NOT NULL DEFAULT 0,
        output_tail TEXT NOT NULL DEFAULT '',
        log_path TEXT,
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        PRIMARY KEY (run_id, step_index, attempt, try_no)
    );
    """,
    # 7: distributed runs — the host events the control plane's spine has ingested, so a re-sent
    # batch is ingested once. Created on first use before this migration (IF NOT EXISTS, as 6).
    """
    CREATE TABLE IF NOT EXISTS host_event_seen (
        host TEXT NOT NULL,
        host_seq INTEGER NOT NULL,
        control_seq INTEGER,
        PRIMARY KEY (host, host_seq)
    );
    """,
    # 8: distributed runs — where a label-placed agent (`host_labels`) lives: the first host that
    # took one of its steps. Sticky: every later step of the agent, in any run, goes to that host.
    """
    CREATE TABLE agent_placement (
        agent TEXT PRIMARY KEY,
        host TEXT NOT NULL,
        labels TEXT NOT NULL DEFAULT '[]',
        run_id TEXT,
        placed_at TEXT NOT NULL
    );
    """,
]
