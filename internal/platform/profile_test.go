package platform_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestDeveloperSandboxProfile: a sandbox made with AwaitProfile has an APP
// key but no business profile and no admin user; CREATE ADMIN USER is
// refused until CREATE COMPANY, both validate as the API does, and each
// happens once.
func TestDeveloperSandboxProfile(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, testConfig())
		ctx := context.Background()
		hookErr := errors.New("hook refused")
		if _, err := e.svc.CreateTenant(ctx, platform.TenantSpec{Name: "ada@example.com", AwaitProfile: true,
			InTx: func(context.Context, *store.Tx, platform.TenantCreated) error { return hookErr }}); !errors.Is(err, hookErr) {
			t.Fatalf("hook error: %v", err)
		}
		if ts, _ := e.svc.ListTenants(ctx); len(ts) != 0 {
			t.Fatalf("a refused hook left %d tenants", len(ts))
		}
		tc, err := e.svc.CreateTenant(ctx, platform.TenantSpec{Name: "ada@example.com", AwaitProfile: true})
		if err != nil {
			t.Fatal(err)
		}
		if tc.AdminUsername != "" || tc.AdminPassword != "" || tc.KeyID == "" {
			t.Fatalf("created %+v", tc)
		}
		ten, err := e.svc.Tenant(ctx, tc.TenantID)
		if err != nil || ten.HasProfile() || ten.Mode != platform.Sandbox {
			t.Fatalf("tenant %+v %v", ten, err)
		}
		if users, err := e.svc.AdminUsers(ctx, tc.TenantID); err != nil || len(users) != 0 {
			t.Fatalf("admin users %v %v", users, err)
		}
		good := platform.AdminUserSpec{Username: "ada", Password: "correct horse", PIN: "4321", Timezone: "Europe/London", Name: "Ada", Email: "ada@example.com", OnlyFirst: true}
		if _, err := e.svc.CreateAdminUser(ctx, tc.TenantID, good); !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("admin user before the company: %v", err)
		}
		for _, c := range []struct {
			spec  platform.CompanySpec
			field string
		}{{platform.CompanySpec{Name: " "}, "name"}, {platform.CompanySpec{Name: "Acme", Timezone: "Mars/Olympus"}, "timezone"}} {
			if _, err := e.svc.CreateCompany(ctx, tc.TenantID, c.spec); apperr.From(err).Field != c.field {
				t.Errorf("company %+v: %v", c.spec, err)
			}
		}
		e.clk.Advance(time.Minute)
		ten, err = e.svc.CreateCompany(ctx, tc.TenantID, platform.CompanySpec{Name: "Acme Ltd", Timezone: "Europe/Berlin"})
		if err != nil || !ten.HasProfile() || ten.Name != "Acme Ltd" || ten.Timezone != "Europe/Berlin" || !ten.ProfileCreatedAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("company: %+v %v", ten, err)
		}
		if _, err := e.svc.CreateCompany(ctx, tc.TenantID, platform.CompanySpec{Name: "Again"}); !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("second company: %v", err)
		}
		for _, c := range []struct {
			edit  func(*platform.AdminUserSpec)
			field string
		}{
			{func(s *platform.AdminUserSpec) { s.Username = "a b" }, "adminUsername"},
			{func(s *platform.AdminUserSpec) { s.Password = "short" }, "adminPassword"},
			{func(s *platform.AdminUserSpec) { s.Password = "" }, "adminPassword"},
			{func(s *platform.AdminUserSpec) { s.PIN = "12a4" }, "adminPin"},
			{func(s *platform.AdminUserSpec) { s.Timezone = "" }, "adminTimezone"},
			{func(s *platform.AdminUserSpec) { s.Timezone = "Local" }, "adminTimezone"},
			{func(s *platform.AdminUserSpec) { s.Email = "not an address" }, "email"},
		} {
			spec := good
			c.edit(&spec)
			if _, err := e.svc.CreateAdminUser(ctx, tc.TenantID, spec); apperr.From(err).Field != c.field {
				t.Errorf("%+v: %v, want field %s", spec, err, c.field)
			}
		}
		// Two at once: one admin user.
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				spec := good
				spec.Username += string(rune('0' + i))
				_, errs[i] = e.svc.CreateAdminUser(ctx, tc.TenantID, spec)
			}()
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("two first admin users: %v / %v", errs[0], errs[1])
		}
		users, err := e.svc.AdminUsers(ctx, tc.TenantID)
		if err != nil || len(users) != 1 || !users[0].HasPIN || users[0].Name != "Ada" || users[0].Email != "ada@example.com" || users[0].Timezone != "Europe/London" {
			t.Fatalf("admin users %+v %v", users, err)
		}
		// A username is unique within the business.
		if _, err := e.svc.CreateAdminUser(ctx, tc.TenantID, platform.AdminUserSpec{Username: users[0].Username, Password: "another one", Timezone: "UTC"}); apperr.From(err).Field != "adminUsername" {
			t.Fatalf("taken username: %v", err)
		}
	})
}

func TestTimeZonesLoad(t *testing.T) {
	zones := platform.TimeZones()
	if len(zones) < 300 || zones[0] != "UTC" {
		t.Fatalf("%d zones, first %q", len(zones), zones[0])
	}
	for _, z := range zones {
		if err := platform.ValidateTimezone("timezone", z); err != nil {
			t.Errorf("%s: %v", z, err)
		}
	}
}
