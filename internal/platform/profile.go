package platform

import (
	"context"
	"database/sql"
	_ "embed" // zones.txt
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/store"
)

// The business profile and the admin user of a developer's sandbox (seed
// 001): sign-up creates the tenant with its APP key (TenantSpec.AwaitProfile),
// then CREATE COMPANY (CreateCompany) creates the business profile, and only
// then CREATE ADMIN USER (CreateAdminUser) its admin user.

// zones.txt lists the time zones offered to people: UTC and the IANA zones
// of the regions, from Go's zoneinfo.zip. Regenerate with
//
//	(echo UTC; unzip -Z1 "$(go env GOROOT)/lib/time/zoneinfo.zip" | grep -E '^(Africa|America|Antarctica|Arctic|Asia|Atlantic|Australia|Europe|Indian|Pacific)/' | LC_ALL=C sort) > internal/platform/zones.txt
//
//go:embed zones.txt
var zonesTxt string

// TimeZones returns the IANA time zone names to choose from, UTC first.
func TimeZones() []string { return strings.Fields(zonesTxt) }

// CompanySpec is the business profile created by CREATE COMPANY.
type CompanySpec struct {
	Name     string // the company's name, at most 200 characters
	Timezone string // IANA name; "" = the tenant's
}

// CreateCompany creates the business profile of a tenant made with
// AwaitProfile: it names the tenant and sets its time zone. A tenant has one
// business profile: a second call is refused (Conflict).
func (s *Service) CreateCompany(ctx context.Context, tenantID string, spec CompanySpec) (Tenant, error) {
	spec.Name = strings.TrimSpace(spec.Name)
	if spec.Name == "" || utf8.RuneCountInString(spec.Name) > 200 {
		return Tenant{}, apperr.InvalidField("name", "name is required (at most 200 characters)")
	}
	if spec.Timezone != "" {
		if err := ValidateTimezone("timezone", spec.Timezone); err != nil {
			return Tenant{}, err
		}
	}
	var t Tenant
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tenants SET name = $1, timezone = COALESCE(NULLIF($2, ''), timezone), profile_created_at = $3
			WHERE id = $4 AND profile_created_at IS NULL`, spec.Name, spec.Timezone, micros(s.clk.Now()), tenantID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			if _, err := s.tenant(ctx, tx, tenantID, false); err != nil {
				return err
			}
			return apperr.New(apperr.Conflict, "the business profile exists already")
		}
		t, err = s.tenant(ctx, tx, tenantID, false)
		return err
	})
	if err != nil {
		return Tenant{}, wrapStore("create company", err)
	}
	s.log.InfoContext(ctx, "business profile created", "tenant", tenantID)
	return t, nil
}

// AdminUserSpec is a new admin user (CREATE ADMIN USER).
type AdminUserSpec struct {
	Username string // 1 to 64 letters, digits or . _ @ -
	Password string // 8 to 256 characters (required)
	PIN      string // optional: 4 to 12 digits
	Timezone string // IANA name (required)
	Name     string // optional, at most 200 characters
	Email    string // optional e-mail address
	// Role is the user's role in the back office ("": owner, which the
	// main administrator CREATE ADMIN USER makes is).
	Role Role
	// OnlyFirst refuses (Conflict) when the tenant has an admin user already:
	// "the main administrator of your business".
	OnlyFirst bool
}

func (spec *AdminUserSpec) normalize() error {
	spec.Name, spec.Email = strings.TrimSpace(spec.Name), strings.TrimSpace(spec.Email)
	if spec.Password == "" {
		return apperr.InvalidField("adminPassword", "adminPassword must be 8 to 256 characters")
	}
	if err := validateAdmin(spec.Username, spec.Password, spec.PIN, spec.Timezone); err != nil {
		return err
	}
	if spec.Role == "" {
		spec.Role = RoleOwner
	}
	if !spec.Role.Valid() {
		return apperr.InvalidField("role", "role must be %q or %q", RoleOwner, RoleAgent)
	}
	if utf8.RuneCountInString(spec.Name) > 200 {
		return apperr.InvalidField("name", "name must be at most 200 characters")
	}
	if spec.Email != "" {
		if a, err := mail.ParseAddress(spec.Email); err != nil || a.Address != spec.Email || len(spec.Email) > 254 {
			return apperr.InvalidField("email", "email must be an e-mail address such as \"ada@example.com\"")
		}
	}
	return nil
}

// CreateAdminUser adds an admin user to a tenant whose business profile
// exists (otherwise Conflict: "create the business profile first"). The
// username is unique within the tenant (Conflict). It answers from inside
// its transaction (httpx.Answer, the AdminUser), so a caller's answer hook
// (the back office's audit row) commits with the user.
func (s *Service) CreateAdminUser(ctx context.Context, tenantID string, spec AdminUserSpec) (AdminUser, error) {
	if err := spec.normalize(); err != nil {
		return AdminUser{}, err
	}
	row, err := s.newAdminRow(spec.Username, spec.Password, spec.PIN, spec.Timezone, spec.Name, spec.Email)
	if err != nil {
		return AdminUser{}, err
	}
	row.role = spec.Role
	now := s.clk.Now()
	out := AdminUser{ID: row.id, TenantID: tenantID, Username: spec.Username, Name: spec.Name, Email: spec.Email,
		Timezone: spec.Timezone, Role: spec.Role, HasPIN: spec.PIN != "", CreatedAt: fromMicros(micros(now))}
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		t, err := s.tenant(ctx, tx, tenantID, true) // serialises the tenant's admin-user creations
		if err != nil {
			return err
		}
		if !t.HasProfile() {
			return apperr.New(apperr.Conflict, "create the business profile first")
		}
		if spec.OnlyFirst {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM admin_users WHERE tenant_id = $1`, t.ID).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return apperr.New(apperr.Conflict, "the admin user exists already")
			}
		}
		if err := row.insert(ctx, tx, t.ID, now); err != nil {
			return err
		}
		return httpx.Answer(ctx, tx, out) // the answer (and a caller's audit row) commits with the user
	})
	if store.IsUniqueViolation(err) {
		return AdminUser{}, apperr.InvalidField("adminUsername", "username %q is taken in this business", spec.Username)
	}
	if err != nil {
		return AdminUser{}, wrapStore("create admin user", err)
	}
	s.log.InfoContext(ctx, "admin user created", "tenant", tenantID, "user", row.id, "role", spec.Role)
	return out, nil
}

// AdminUsers returns a tenant's admin users, oldest first.
func (s *Service) AdminUsers(ctx context.Context, tenantID string) ([]AdminUser, error) {
	rows, err := s.db.Reader(ctx).QueryContext(ctx, `SELECT id, tenant_id, username, name, email, timezone, role, pin_hash, created_at
		FROM admin_users WHERE tenant_id = $1 ORDER BY created_at, id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("platform: list admin users: %w", err)
	}
	defer rows.Close()
	var out []AdminUser
	for rows.Next() {
		var u AdminUser
		var pin sql.NullString
		var created int64
		if err := rows.Scan(&u.ID, &u.TenantID, &u.Username, &u.Name, &u.Email, &u.Timezone, &u.Role, &pin, &created); err != nil {
			return nil, fmt.Errorf("platform: list admin users: %w", err)
		}
		u.HasPIN, u.CreatedAt = pin.Valid, fromMicros(created)
		out = append(out, u)
	}
	return out, rows.Err()
}

// adminRow is an admin user ready to insert: hashed outside the
// transaction (argon2id is slow and must not run again on a retry).
type adminRow struct {
	id, username, pwHash, zone, name, email string
	role                                    Role // "": owner
	pinHash                                 any  // nil: no PIN
}

func (s *Service) newAdminRow(username, password, pin, zone, name, email string) (adminRow, error) {
	pwHash, err := s.hasher.Hash(password, s.gen.Bytes(int(s.cfg.Argon2.SaltLength)))
	if err != nil {
		return adminRow{}, err
	}
	r := adminRow{id: s.gen.ID("usr"), username: username, pwHash: pwHash, zone: zone, name: name, email: email}
	if pin != "" {
		h, err := s.hasher.HashPIN(pin, s.gen.Bytes(int(s.cfg.Argon2.SaltLength)))
		if err != nil {
			return adminRow{}, err
		}
		r.pinHash = h
	}
	return r, nil
}

func (r adminRow) insert(ctx context.Context, tx *store.Tx, tenantID string, now time.Time) error {
	role := r.role
	if role == "" {
		role = RoleOwner
	}
	_, err := tx.ExecContext(ctx,
		`INSERT INTO admin_users (id, tenant_id, username, password_hash, pin_hash, timezone, name, email, role, created_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		r.id, tenantID, r.username, r.pwHash, r.pinHash, r.zone, r.name, r.email, string(role), micros(now))
	return err
}
