package platform

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/store"
)

// Mode says whether a tenant is a sandbox (testing, low usage limit, one APP
// key) or a production account.
type Mode string

// The modes.
const (
	Sandbox    Mode = "sandbox"
	Production Mode = "production"
)

// Tenant is a business profile.
type Tenant struct {
	ID           string // "ten_…", the system-assigned tenant ID
	BusinessCode string // short human code, e.g. "K7M2QX9A"
	Name         string
	Mode         Mode
	Timezone     string          // IANA name
	Settings     json.RawMessage // JSON object
	CreatedAt    time.Time
	// ProfileCreatedAt is when the business profile was created: at once for
	// tenants made by the CLI or the API, by CREATE COMPANY for a developer's
	// sandbox (nil until then, see TenantSpec.AwaitProfile).
	ProfileCreatedAt *time.Time
}

// HasProfile reports whether the business profile exists.
func (t Tenant) HasProfile() bool { return t.ProfileCreatedAt != nil }

// Location returns the tenant's time zone (UTC if it cannot be loaded).
func (t Tenant) Location() *time.Location { return loadZone(t.Timezone) }

// AdminUser is a tenant's administrator (used by the OAuth password grant).
type AdminUser struct {
	ID        string // "usr_…"
	TenantID  string
	Username  string
	Name      string // "" when not given
	Email     string // "" when not given
	Timezone  string // IANA name; timestamps shown to this user use it
	Role      Role   // owner or agent (the back office's roles)
	HasPIN    bool
	CreatedAt time.Time
}

// FormatTime formats t in the user's time zone ("The time zone is used to
// record timestamps in your time zone").
func (u AdminUser) FormatTime(t time.Time) string { return FormatInZone(t, u.Timezone) }

// FormatInZone formats t as RFC 3339 in the IANA zone (UTC when the zone is
// empty or unknown), e.g. "2026-03-01T14:30:00+01:00".
func FormatInZone(t time.Time, zone string) string {
	return t.In(loadZone(zone)).Format(time.RFC3339)
}

// FormatUTC formats t as RFC 3339 UTC, e.g. "2026-03-01T13:30:00Z".
func FormatUTC(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func loadZone(zone string) *time.Location {
	if zone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// TenantSpec describes a new tenant and its admin user.
type TenantSpec struct {
	Name     string
	Mode     Mode   // "" = sandbox
	Timezone string // IANA name; "" = UTC
	// AdminUsername defaults to "admin".
	AdminUsername string
	// AdminPassword is generated (and returned once) when empty; otherwise
	// at least 8 characters.
	AdminPassword string
	// AdminPIN is optional: 4 to 12 digits. When set, the password grant
	// requires it.
	AdminPIN string
	// AdminTimezone defaults to Timezone.
	AdminTimezone string
	// AwaitProfile creates a developer's sandbox (seed 001 sign-up): the
	// tenant and its APP key, but no admin user and no business profile
	// yet; CreateCompany and CreateAdminUser add them later. The admin
	// fields are then ignored.
	AwaitProfile bool
	// InTx, when set, runs inside the transaction that creates the tenant,
	// after its rows are written; an error from it rolls everything back and
	// is returned as is (the developer portal writes the developer there).
	InTx func(ctx context.Context, tx *store.Tx, created TenantCreated) error
}

// TenantCreated is what CreateTenant returns. The APP key, the signing key
// and the admin password are shown this once.
type TenantCreated struct {
	TenantID        string `json:"tenantId"`
	BusinessCode    string `json:"businessCode"`
	APIKey          string `json:"apiKey"`
	ConfigurationID string `json:"configurationId"`
	SigningKey      string `json:"signingKey"`
	AdminUsername   string `json:"adminUsername"`
	AdminPassword   string `json:"adminPassword"`
	// KeyID is the id of the APP key (not secret; not printed).
	KeyID string `json:"-"`
}

var (
	usernamePattern = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)
	pinPattern      = regexp.MustCompile(`^[0-9]{4,12}$`)
)

// businessCodeAlphabet has 32 uppercase letters and digits without the
// look-alikes I, O, 0 and 1.
const businessCodeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

func (s *Service) newBusinessCode() string {
	b := s.gen.Bytes(8)
	for i := range b {
		b[i] = businessCodeAlphabet[b[i]&31]
	}
	return string(b)
}

// ValidateTimezone checks an IANA time zone name.
func ValidateTimezone(field, zone string) error {
	if zone == "" || zone == "Local" {
		return apperr.InvalidField(field, "%s must be an IANA time zone name such as \"Europe/Berlin\"", field)
	}
	if _, err := time.LoadLocation(zone); err != nil {
		return apperr.InvalidField(field, "unknown time zone %q", zone)
	}
	return nil
}

// ValidatePassword checks a password's length as the platform does for
// admin users: 8 to 256 characters.
func ValidatePassword(field, pw string) error { return validPassword(field, pw) }

func validPassword(field, pw string) error {
	if utf8.RuneCountInString(pw) < 8 || len(pw) > 256 {
		return apperr.InvalidField(field, "%s must be 8 to 256 characters", field)
	}
	return nil
}

// normalize checks the spec and fills in its defaults.
func (spec *TenantSpec) normalize() error {
	spec.Name = strings.TrimSpace(spec.Name)
	if spec.Name == "" || utf8.RuneCountInString(spec.Name) > 200 {
		return apperr.InvalidField("name", "name is required (at most 200 characters)")
	}
	switch spec.Mode {
	case "":
		spec.Mode = Sandbox
	case Sandbox, Production:
	default:
		return apperr.InvalidField("mode", "mode must be %q or %q", Sandbox, Production)
	}
	if spec.Timezone == "" {
		spec.Timezone = "UTC"
	}
	if err := ValidateTimezone("timezone", spec.Timezone); err != nil {
		return err
	}
	if spec.AwaitProfile {
		spec.AdminUsername, spec.AdminPassword, spec.AdminPIN, spec.AdminTimezone = "", "", "", ""
		return nil
	}
	if spec.AdminTimezone == "" {
		spec.AdminTimezone = spec.Timezone
	}
	if spec.AdminUsername == "" {
		spec.AdminUsername = "admin"
	}
	return validateAdmin(spec.AdminUsername, spec.AdminPassword, spec.AdminPIN, spec.AdminTimezone)
}

// validateAdmin checks an admin user's fields (an empty password is
// generated by the caller); the field names are the CLI's and the API's.
func validateAdmin(username, password, pin, zone string) error {
	if err := ValidateTimezone("adminTimezone", zone); err != nil {
		return err
	}
	if !usernamePattern.MatchString(username) {
		return apperr.InvalidField("adminUsername", "username must be 1 to 64 letters, digits or . _ @ -")
	}
	if password != "" {
		if err := validPassword("adminPassword", password); err != nil {
			return err
		}
	}
	if pin != "" && !pinPattern.MatchString(pin) {
		return apperr.InvalidField("adminPin", "PIN must be 4 to 12 digits")
	}
	return nil
}

// CreateTenant creates, in one transaction, a tenant, its admin user, its
// first APP key (all APIs, no expiry) and its card-gateway configuration
// (with AwaitProfile: no admin user, and no business profile yet).
func (s *Service) CreateTenant(ctx context.Context, spec TenantSpec) (TenantCreated, error) {
	if err := spec.normalize(); err != nil {
		return TenantCreated{}, err
	}
	out := TenantCreated{AdminUsername: spec.AdminUsername, AdminPassword: spec.AdminPassword}
	var admin *adminRow
	if !spec.AwaitProfile {
		if out.AdminPassword == "" {
			out.AdminPassword = s.gen.Secret(12)
		}
		// Hash outside the transaction: it is slow and must not be repeated on retry.
		a, err := s.newAdminRow(spec.AdminUsername, out.AdminPassword, spec.AdminPIN, spec.AdminTimezone, "", "")
		if err != nil {
			return TenantCreated{}, err
		}
		admin = &a
	}
	signingKey := s.newSigningKey()
	// The business code and the configuration id are short enough to collide
	// (rarely): on a unique violation draw new ones and try again.
	for attempt := 0; ; attempt++ {
		row := newTenantRow{spec: spec, now: s.clk.Now(), id: s.gen.ID("ten"), code: s.newBusinessCode(),
			confID: s.gen.Digits(18), key: s.newKeyMaterial(), admin: admin}
		var err error
		if row.sealed, row.plain, err = s.sealSigningKey(row.confID, signingKey); err != nil {
			return TenantCreated{}, err
		}
		created := out
		created.TenantID, created.BusinessCode, created.APIKey, created.KeyID = row.id, row.code, row.key.plain, row.key.id
		created.ConfigurationID, created.SigningKey = row.confID, signingKey
		var hookErr error
		err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
			hookErr = nil // a retried transaction runs the hook again
			if err := row.insert(ctx, tx); err != nil {
				return err
			}
			if spec.InTx != nil {
				hookErr = spec.InTx(ctx, tx, created)
			}
			return hookErr
		})
		if hookErr != nil {
			return TenantCreated{}, hookErr
		}
		if store.IsUniqueViolation(err) && attempt < 5 {
			continue
		}
		if err != nil {
			return TenantCreated{}, fmt.Errorf("platform: create tenant: %w", err)
		}
		s.log.InfoContext(ctx, "tenant created", "tenant", row.id, "business_code", row.code, "mode", spec.Mode)
		return created, nil
	}
}

// newTenantRow is one attempt at writing a new tenant.
type newTenantRow struct {
	spec             TenantSpec
	now              time.Time
	id, code, confID string
	key              keyMaterial
	sealed, plain    any
	admin            *adminRow // nil: none yet
}

func (n newTenantRow) insert(ctx context.Context, tx *store.Tx) error {
	var profile any = micros(n.now)
	if n.spec.AwaitProfile {
		profile = nil
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO tenants (id, business_code, name, mode, timezone, settings, created_at, profile_created_at)
		 VALUES ($1, $2, $3, $4, $5, '{}', $6, $7)`,
		n.id, n.code, n.spec.Name, string(n.spec.Mode), n.spec.Timezone, micros(n.now), profile); err != nil {
		return err
	}
	if n.admin != nil {
		if err := n.admin.insert(ctx, tx, n.id, n.now); err != nil {
			return err
		}
	}
	if err := insertKey(ctx, tx, n.key, n.id, "default", AllAPIs(), n.now, nil); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx,
		`INSERT INTO gateway_configurations (id, tenant_id, signing_key_sealed, signing_key_plaintext, created_at)
		 VALUES ($1, $2, $3, $4, $5)`,
		n.confID, n.id, n.sealed, n.plain, micros(n.now))
	return err
}

const tenantColumns = `id, business_code, name, mode, timezone, settings, created_at, profile_created_at`

func scanTenant(row interface{ Scan(...any) error }) (Tenant, error) {
	var t Tenant
	var mode, settings string
	var created int64
	var profile sql.NullInt64
	if err := row.Scan(&t.ID, &t.BusinessCode, &t.Name, &mode, &t.Timezone, &settings, &created, &profile); err != nil {
		return Tenant{}, err
	}
	t.Mode, t.Settings, t.CreatedAt, t.ProfileCreatedAt = Mode(mode), json.RawMessage(settings), fromMicros(created), nullTime(profile)
	return t, nil
}

// Tenant returns the tenant named by ref: its tenant ID ("ten_…") or its
// business code (case-insensitive).
func (s *Service) Tenant(ctx context.Context, ref string) (Tenant, error) {
	return s.tenant(ctx, s.db.Reader(ctx), ref, false)
}

// tenant resolves ref with q; lock adds FOR UPDATE (PostgreSQL) so
// concurrent key changes of one tenant serialise.
func (s *Service) tenant(ctx context.Context, q store.Querier, ref string, lock bool) (Tenant, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return Tenant{}, apperr.InvalidField("tenant", "a tenant ID or business code is required")
	}
	col := "business_code"
	if strings.HasPrefix(ref, "ten_") {
		col = "id"
	} else {
		ref = strings.ToUpper(ref)
	}
	suffix := ""
	if lock {
		suffix = s.db.ForUpdate()
	}
	t, err := scanTenant(q.QueryRowContext(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE `+col+` = $1`+suffix, ref))
	if errors.Is(err, sql.ErrNoRows) {
		return Tenant{}, apperr.New(apperr.NotFound, "tenant %q not found", ref)
	}
	if err != nil {
		return Tenant{}, fmt.Errorf("platform: load tenant: %w", err)
	}
	return t, nil
}

// ListTenants returns every tenant, oldest first (for the CLI and the
// back office).
func (s *Service) ListTenants(ctx context.Context) ([]Tenant, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT `+tenantColumns+` FROM tenants ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("platform: list tenants: %w", err)
	}
	defer rows.Close()
	var out []Tenant
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, fmt.Errorf("platform: list tenants: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// AdminUser returns a user of the tenant by id.
func (s *Service) AdminUser(ctx context.Context, tenantID, userID string) (AdminUser, error) {
	var u AdminUser
	var pin sql.NullString
	var created int64
	err := s.db.Read().QueryRowContext(ctx,
		`SELECT id, tenant_id, username, name, email, timezone, role, pin_hash, created_at FROM admin_users WHERE tenant_id = $1 AND id = $2`,
		tenantID, userID).Scan(&u.ID, &u.TenantID, &u.Username, &u.Name, &u.Email, &u.Timezone, &u.Role, &pin, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return AdminUser{}, apperr.New(apperr.NotFound, "user not found")
	}
	if err != nil {
		return AdminUser{}, fmt.Errorf("platform: load user: %w", err)
	}
	u.HasPIN, u.CreatedAt = pin.Valid, fromMicros(created)
	return u, nil
}

// zoneFor returns the time zone to show the caller's timestamps in: the
// admin user's when the caller logged in as one, the tenant's otherwise.
func (s *Service) zoneFor(ctx context.Context, p httpx.Principal, t Tenant) string {
	if p.UserID != "" {
		if u, err := s.AdminUser(ctx, p.TenantID, p.UserID); err == nil {
			return u.Timezone
		}
	}
	return t.Timezone
}
