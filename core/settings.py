"""Process-wide settings, read once from the environment (prefix ``GRIDWISE_``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict

from core.paths import DATA_DIR, ROOT, VAR_DIR

__all__ = ["DATA_DIR", "ROOT", "VAR_DIR", "Settings", "get_settings"]  # the paths live in core.paths (light)


class Settings(BaseSettings):
    """Everything an operator may configure. Each field maps to ``GRIDWISE_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="GRIDWISE_", extra="ignore")

    # SQLite file outside git by default; PostgreSQL in production, e.g.
    # postgresql+psycopg://user@host:5432/gridwise
    database_url: str = f"sqlite:///{VAR_DIR / 'gridwise.db'}"
    # Run APScheduler inside the Streamlit server. Turn off when `gridwise scheduler` runs
    # as its own process (multi-process deployments) and in tests.
    scheduler_enabled: bool = True
    timezone: str = "Asia/Shanghai"
    # Demo mode (GRIDWISE_DEMO=true): this instance shows the simulated demo district. Only then may
    # `gridwise seed-demo` run and does the sign-in page list the demo accounts and their published password.
    # Off (the default) = a production instance, which refuses to start while any demo account exists. The
    # Makefile turns it on for `make run` / `make seed-demo` on the embedded SQLite default only.
    demo: bool = False
    # Failed-sign-in lockout: this many failures in a row lock the account for lockout_minutes.
    lockout_threshold: int = 5
    lockout_minutes: int = 15
    # A signed-in browser session that sees no activity for this long is signed out.
    session_idle_minutes: int = 30
    # A session ends this long after sign-in however active it is (core.web_sessions); sign in again then.
    session_max_hours: int = 12
    # Allow username + password sign-in. Turn off only where single sign-on ([auth] in .streamlit/secrets.toml)
    # is configured and every user signs in through it.
    password_sign_in: bool = True
    # Single sign-on (st.login, [auth] in .streamlit/secrets.toml): the identity's claim `sso_claim` must equal
    # a Gridwise user's `sso_match` ("username", case-insensitive, or "employee_no" of the user's worker record).
    # An identity that matches no active user is refused; nobody is created.
    sso_claim: str = "preferred_username"
    sso_match: str = "username"
    # Second factor (core.totp; 等保 2.0 身份鉴别 d): the roles that must sign in with a TOTP code (comma-separated:
    # worker, manager, sysadmin, secadmin, auditor; empty = nobody). An account of such a role without an
    # authenticator is sent to set one up right after its password, and can do nothing else until it has.
    # Anyone else may set one up on 我的账号 and is then asked for it too.
    mfa_required_roles: str = "sysadmin,secadmin,auditor"
    # With single sign-on: the ID-token claim (e.g. "amr", RFC 8176) whose value(s) say the identity provider
    # checked a second factor; one of sso_mfa_values there stands for Gridwise's own step. Empty = trust none:
    # a required-role user signing in through the provider is asked for the TOTP code too.
    sso_mfa_claim: str = "amr"
    sso_mfa_values: str = "mfa,otp,hwk"
    # Sign-in abuse (core.auth): refused sign-ins from one client address within the window before that address
    # is refused outright (0 = off), checked before any account's own counter (lockout_threshold) is touched.
    # The address is the connection's peer, or, from a trusted proxy (trusted_proxies, below), the right-most
    # untrusted entry of this header (core.client_address).
    signin_address_failures: int = 20
    signin_address_window_minutes: int = 15
    client_address_header: str = "X-Forwarded-For"
    # Password policy (core.passwords; 等保 2.0 身份鉴别 a). 0 turns a rule off. Also always refused: a password
    # containing the username (3+ characters) and one on the shipped list data/common_passwords.txt.
    password_min_length: int = 10
    password_min_classes: int = 3  # of four: lower-case letters, capitals, digits, other characters
    password_history: int = 5  # a new password may not be any of the account's last N (the current one too)
    password_max_age_days: int = 90  # then the next sign-in must choose a new one; demo accounts never expire
    default_language: str = "zh"
    sqlite_busy_timeout_ms: int = 5000
    # Largest file a page accepts (imports, course attachments), in MB: a month of a district's events in
    # CSV fits. Streamlit refuses larger uploads first when .streamlit/config.toml's server.maxUploadSize
    # (kept equal to this default) is smaller; raise both together. The command line has no limit.
    max_upload_mb: int = 50
    # Separated administrator duties (core.models.Role): one account holds at most one of system, security
    # and audit administrator. A small office with fewer people may allow one account more than one
    # (User.extra_duties, granted by a security administrator); the audit trail records each such grant.
    allow_combined_admin_duties: bool = False
    # Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For / X-Forwarded-Proto are
    # believed (core.http_security: HSTS only over HTTPS, the client's address). Anyone else's are ignored.
    trusted_proxies: str = "127.0.0.1,::1"
    # The API's interactive documentation (/api/v1/docs) and its openapi.json: off unless turned on.
    api_docs: bool = False
    # The ground under the event, dispatch and warning maps (evaluation.field.basemap): a GeoJSON file of the
    # district's real boundaries. Empty = areas drawn from the grids' own centres (works offline, approximate).
    basemap_geojson: str = ""
    # Accounts nobody has signed in to for this many days are listed for review on the users page; with
    # account_disable_unused the daily accounts.disable_unused job deactivates workers' and managers' ones.
    account_unused_days: int = 90
    account_disable_unused: bool = False
    # Notifications (core.notify). The address people open Gridwise at, e.g. https://grid.example.gov.cn:
    # messages sent to WeCom / DingTalk / Feishu / email link back to the page they are about.
    base_url: str = ""
    # A Fernet key that encrypts channel secrets at rest (robot keys, signing secrets, SMTP passwords).
    # Generate one: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"
    secret_key: str = ""
    # A Fernet key that seals contact data at rest (phone numbers, e-mail addresses: core.sealed); not the
    # secret_key above. Empty: generated once into data_key_file (default var/data.key, mode 0600), outside
    # the database. Production: set it (or keep the file) and store it apart from database backups.
    # Change it with `gridwise privacy rotate-key`.
    data_key: str = ""
    data_key_file: str = ""
    # The key of the audit trail's hash chain (core.audit; `gridwise audit verify`). Empty: generated once
    # into audit_key_file (default var/audit.key). Never changes for an installation: archives verify with it.
    audit_key: str = ""
    audit_key_file: str = ""
    # Audit rows younger than this many days stay in the table; the daily audit.archive job moves older ones
    # to a verifiable JSON-lines file (never deleted unarchived).
    audit_keep_days: int = 180
    # Where the daily audit.archive job (and `gridwise audit archive` without --dir) writes those files.
    audit_archive_dir: str = str(VAR_DIR / "audit-archive")
    # Days a sent or given-up delivery stays in the delivery log before the daily notify.cleanup job removes it.
    notify_keep_days: int = 90
    # Backups (core.backup): the key that encrypts them — 32 random bytes, URL-safe base64 (`gridwise backup
    # keygen`), never the same as secret_key; kept apart from the database and from the backup copies.
    backup_key: str = ""
    # Where `gridwise backup` (no file given) and the daily backup.daily job write, and how many of the newest
    # daily copies the job keeps there (older ones are deleted after a new copy is written).
    backup_dir: str = str(VAR_DIR / "backups")
    backup_keep: int = 14
    # Personal data of a worker who left is erased (pseudonymised, core.rights.erase_worker) by the daily
    # privacy.retention job this many days after the job first saw them as left; 0 keeps it until an
    # administrator erases it by hand.
    erase_after_days: int = 730


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
