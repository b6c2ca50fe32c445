"""The only code that touches a database. Every function receives an Engine; nothing
connects at import time.

Public API: `make_engine` (engine), `ensure_warehouse` (schema: migrations, reference
data, marts), `record_submission` (load: ledger and facts in one transaction),
`processed_statuses`, `waiting_submissions`, `submission_ref` (ledger: every read and
write of `audit_submission` and `audit_issue`), `fetch_lookups` (lookups), `read_mart` and
`MARTS` (marts),
`AccessPlan` and `apply_access` (access: PostgreSQL roles and row-level security).
Where objects live on each backend: `warehouse.layout`; migrations: `warehouse.migrate`.
"""
