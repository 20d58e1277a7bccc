"""Officer sign-in, bearer tokens and the audit log: the gateway's `auth` dependency (DESIGN §4, §5)."""
import logging

from eventlet import tpool
from marshmallow import ValidationError
from nameko.extensions import DependencyProvider

from services.common.errors import Forbidden, NotFound, RateLimited, ValidationFailed
from services.common.events import now
from services.common.field_errors import flatten_field_errors
from services.common.mongo import unavailable_on_store_error
from services.gateway import accounts
from services.gateway.dependencies import secret_key, service_store
from services.gateway.exceptions import Unauthorized

log = logging.getLogger(__name__)

# One message for an unknown name and a wrong password, so a login never tells which names exist.
BAD_CREDENTIALS = "Nama pengguna atau kata sandi salah."
BAD_TOKEN = "Sesi tidak valid atau sudah berakhir; silakan masuk lagi."
NO_AGENCY = "Akun ini tidak terhubung ke instansi yang dikenal; hubungi admin."
LOCKED = "Terlalu banyak percobaan masuk yang gagal; coba lagi nanti."
BAD_API_KEY = "Kunci API tidak valid atau sudah dicabut."
AUDIT_MAX_PER_PAGE = 200
LOGIN = "login"
LOGOUT = "logout"


class Auth(DependencyProvider):
    """Per container: the signing secret, the token lifetime and the service's own store."""

    def setup(self):
        config = self.container.config
        self.secret_key = secret_key(config)
        self.ttl_seconds = int(config.get("TOKEN_TTL_SECONDS") or accounts.DEFAULT_TOKEN_TTL_SECONDS)
        self.store = service_store(self.container, "Auth")

    def get_dependency(self, worker_ctx):
        return Authenticator(self.store.repository, self.secret_key, self.ttl_seconds)


class Authenticator:
    """What an entrypoint sees as `self.auth`."""

    def __init__(self, repository, secret_key, ttl_seconds):
        self.repository = repository
        self.secret_key = secret_key
        self.ttl_seconds = ttl_seconds

    @unavailable_on_store_error
    def login(self, credentials, client_address, agency_lookup):
        """{access_token, token_type, expires_in} for good credentials; every attempt is audited."""
        login = _load_login(credentials)
        username, password = login["username"], login["password"]
        self._count_attempt(username, client_address)
        account = self.repository.account(username)
        password_hash = account["password_hash"] if account else None
        # argon2 takes ~0.1 s of CPU: in a real thread, so other requests keep being served meanwhile.
        if not tpool.execute(accounts.verify_password, password_hash, password):
            outcome = "wrong_password" if account else "unknown_username"
            self._refuse(username, account, client_address, outcome, BAD_CREDENTIALS)
        if not accounts.is_active(account):
            self._refuse(username, account, client_address, "disabled", BAD_CREDENTIALS)
        self._forgive_attempt(username, client_address)
        agency = self._agency_of(account, client_address, agency_lookup)
        token = accounts.issue_token(account, agency, self.secret_key, self.ttl_seconds, now())
        self._upgrade_hash(account, password)
        self._record_login(username, account, "ok", client_address)
        return {"access_token": token, "token_type": "bearer", "expires_in": self.ttl_seconds}

    def _count_attempt(self, username, client_address):
        """Every attempt counts as a failure until it succeeds. Counted before the password is checked, so
        parallel guesses cannot all slip in under the limit."""
        current, waits = now(), []
        for key, limit in ((accounts.username_key(username, self.secret_key), accounts.USERNAME_FAILURE_LIMIT),
                           (accounts.address_key(client_address), accounts.ADDRESS_FAILURE_LIMIT)):
            count, started_at = self.repository.count_login_failure(key, accounts.FAILURE_WINDOW)
            if accounts.over_limit(count, limit):
                waits.append(accounts.retry_after_seconds(started_at, current))
        if waits:
            self._record_login(username, self.repository.account(username), "locked", client_address)
            raise RateLimited(LOCKED, fields={"retry_after": max(waits)})

    def _forgive_attempt(self, username, client_address):
        """A success wipes the name's failures and takes itself off the address's count (an office behind
        one address signs in many officers)."""
        self.repository.clear_login_failures(accounts.username_key(username, self.secret_key))
        self.repository.forgive_login_failure(accounts.address_key(client_address))

    def _refuse(self, username, account, client_address, outcome, message):
        self._record_login(username, account, outcome, client_address)
        raise Unauthorized(message)

    def _record_login(self, username, account, outcome, client_address):
        """One audit entry per sign-in attempt. A name that is no account may be a password typed in the wrong
        field: only its first letters and a keyed hash are kept."""
        if account is None:
            actor = {"username": accounts.typed_username_hint(username), "role": None, "agency_code": None}
            details = {"username_hmac": accounts.typed_username_hmac(self.secret_key, username)}
        else:
            actor = {"username": account["_id"], "role": account["role"], "agency_code": account.get("agency_code")}
            details = None
        self.record(actor, LOGIN, None, outcome, client_address, details)

    def _agency_of(self, account, client_address, agency_lookup):
        """Routing's {code, name, kind, scope} for agency roles; None for the national ones."""
        if account["role"] not in accounts.AGENCY_ROLES:
            return None
        try:
            return agency_lookup(account["agency_code"])
        except NotFound:
            log.warning("account %s names unknown agency %s", account["_id"], account["agency_code"])
            self._refuse(account["_id"], account, client_address, "unknown_agency", NO_AGENCY)

    def _upgrade_hash(self, account, password):
        if accounts.needs_rehash(account["password_hash"]):
            self.repository.set_password_hash(account["_id"], tpool.execute(accounts.hash_password, password))

    @unavailable_on_store_error
    def principal(self, request):
        """The actor behind `Authorization: Bearer <token>`; None without the header."""
        token = bearer_token(request)
        return None if token is None else self.token_principal(token)

    @unavailable_on_store_error
    def token_principal(self, token):
        """The actor behind a bearer token however it came (the header, or the web pages' session cookie)."""
        return accounts.actor_from_claims(self._live_claims(token))

    @unavailable_on_store_error
    def logout(self, token, client_address):
        """Sign out: the token is refused from now on, wherever it is used (its id denied until it would have
        expired). Unauthorized when it no longer works anyway."""
        claims = self._live_claims(token)
        self.repository.revoke_token(claims["jti"], accounts.expires_at(claims))
        self.record(accounts.actor_from_claims(claims), LOGOUT, None, "ok", client_address)

    def _live_claims(self, token):
        """The claims of a token signed by us, unexpired, not signed out, still speaking for its account."""
        try:
            claims = accounts.verify_token(token, self.secret_key)
        except accounts.InvalidToken:
            raise Unauthorized(BAD_TOKEN)
        if self.repository.token_revoked(claims["jti"]):
            raise Unauthorized(BAD_TOKEN)
        account = self.repository.account(claims["sub"])
        # Disabled, or given another role or agency since: the token no longer speaks for the account.
        if (not accounts.is_active(account) or account["role"] != claims["role"]
                or account.get("agency_code") != claims.get("agency_code")):
            raise Unauthorized(BAD_TOKEN)
        return claims

    @unavailable_on_store_error
    def api_client(self, key):
        """The actor of another government system's API key; Forbidden for a missing, unknown or revoked one."""
        record = self.repository.api_key(accounts.api_key_digest(key)) if accounts.plausible_api_key(key) else None
        if record is None or not record.get("active"):
            raise Forbidden(BAD_API_KEY)
        return accounts.api_client_actor(record)

    @unavailable_on_store_error
    def record(self, actor, action, tracking_id, outcome, client_address, details=None):
        """Append one audit entry; `actor` is a principal (or the little known of someone signing in)."""
        self.repository.insert_audit(
            accounts.audit_entry(actor, action, tracking_id, outcome, client_address, details, now()))

    @unavailable_on_store_error
    def audit_entries(self, username=None, tracking_id=None, page=1, per_page=50):
        """The list envelope of audit entries, newest first, with `at` as ISO-8601."""
        page, per_page = max(1, int(page)), min(max(1, int(per_page)), AUDIT_MAX_PER_PAGE)
        entries, total = self.repository.find_audit(username=username, tracking_id=tracking_id,
                                                    skip=(page - 1) * per_page, limit=per_page)
        items = [dict(entry, at=entry["at"].isoformat()) for entry in entries]
        return {"items": items, "page": page, "per_page": per_page, "total": total}


def bearer_token(request):
    """The token of `Authorization: Bearer <token>`; None without the header, Unauthorized for another scheme."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(BAD_TOKEN)
    return token.strip()


def _load_login(credentials):
    if not isinstance(credentials, dict):
        raise ValidationFailed("Isian tidak valid.", fields={"_body": [{
            "id": "Isi permintaan harus berupa objek JSON.", "en": "Request body must be a JSON object."}]})
    try:
        return accounts.LoginSchema().load(credentials)
    except ValidationError as exc:
        raise ValidationFailed("Isian tidak valid.", fields=flatten_field_errors(exc.messages))

