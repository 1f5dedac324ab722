-- Work shared between replicas (design §12).

-- Scan jobs: one row per scheduled account. A replica claims due rows with
-- FOR UPDATE SKIP LOCKED and holds a lease until `lease_until`; a replica that dies loses its
-- leases when they expire and another takes the job.
CREATE TABLE netra_scan_jobs (
    account_id  bigint PRIMARY KEY,
    due_at_ms   bigint NOT NULL,
    holder      text,
    lease_until_ms bigint NOT NULL DEFAULT 0
);
CREATE INDEX netra_scan_jobs_due ON netra_scan_jobs (due_at_ms);

-- Per-host request budgets (token buckets) shared by all replicas, so that together they
-- respect each platform's rate limits.
CREATE TABLE netra_host_budgets (
    host        text PRIMARY KEY,
    tokens      double precision NOT NULL,
    updated_ms  bigint NOT NULL
);
