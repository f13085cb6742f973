package platform

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Role is an admin user's role in the merchant back office.
type Role string

// The roles: an owner does everything (settings and users included); an
// agent works with payments (lists, details, captures, cancels, refunds)
// and sees the settings read-only.
const (
	RoleOwner Role = "owner"
	RoleAgent Role = "agent"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleOwner || r == RoleAgent }

// CheckAdminPassword verifies the password of the tenant's admin user
// username, and the PIN when the user has one (an empty PIN is then wrong),
// for a sign-in its caller throttles before calling (the back office counts
// attempts with the web kit's throttle); the password grant's own lockout is
// neither counted nor consulted. An unknown username costs a verification
// of a dummy hash, so the answer takes as long. ok is false for a wrong
// username, password or PIN, which are not told apart.
func (s *Service) CheckAdminPassword(ctx context.Context, tenantID, username, password, pin string) (u AdminUser, ok bool, err error) {
	var pwHash string
	var pinHash sql.NullString
	var created int64
	err = s.db.Reader(ctx).QueryRowContext(ctx,
		`SELECT id, tenant_id, username, name, email, timezone, role, password_hash, pin_hash, created_at
		 FROM admin_users WHERE tenant_id = $1 AND username = $2`, tenantID, username).
		Scan(&u.ID, &u.TenantID, &u.Username, &u.Name, &u.Email, &u.Timezone, &u.Role, &pwHash, &pinHash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		_, _ = s.hasher.Verify(s.dummy, password) // same work as for a real user
		return AdminUser{}, false, nil
	}
	if err != nil {
		return AdminUser{}, false, fmt.Errorf("platform: load admin user: %w", err)
	}
	good, err := s.hasher.Verify(pwHash, password)
	if err != nil || !good {
		return AdminUser{}, false, err
	}
	if pinHash.Valid {
		if pin == "" {
			return AdminUser{}, false, nil
		}
		if good, err = s.hasher.Verify(pinHash.String, pin); err != nil || !good {
			return AdminUser{}, false, err
		}
	}
	u.HasPIN, u.CreatedAt = pinHash.Valid, fromMicros(created)
	return u, true, nil
}
