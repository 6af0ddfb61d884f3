"""Training plans (《网格管理培训制度》): annual plans per level, the study-hours ledger, self-paced lessons,
completion rules and prerequisites, supervision (dashboard, 培训通报, reminders).

Modules: models (tables), plans (plans and who must do what), ledger (credited hours, traceable and
idempotent), lessons (self-paced material), completion (course rules and prerequisites), supervision
(dashboard figures, the bulletin workbook, reminders), charts, cli, jobs, demo.
"""
