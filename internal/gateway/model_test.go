package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/gateway"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// mPay is the test's model of one payment.
type mPay struct {
	base                                string
	status                              string
	authorised, captured, refunded      int64
	pending, settled                    int64
	feeCharged, feeReturned             int64 // at settlement; given back by refunds of settled money
	settledRefunded                     int64 // settled money refunded
	holdOpen                            bool
	authorisedAt, firstCap, lastCapture time.Time
}

// gwModel is what the gateway's semantics say the ledger holds.
type gwModel struct {
	loc                  *time.Location
	bps, fixed           int64
	pays                 []*mPay
	cutoffs              map[time.Time]bool // settlement batches scheduled (midnight after each capture)
	pending, avail, fees int64
	scheme               int64 // card-scheme/clearing
}

func localMidnight(y int, m time.Month, d int, loc *time.Location) time.Time {
	// The first instant whose local date is y-m-d, by scanning: the model
	// does not share the implementation's arithmetic.
	t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Add(-16 * time.Hour)
	want := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	for {
		ly, lm, ld := t.In(loc).Date()
		if !time.Date(ly, lm, ld, 0, 0, 0, 0, time.UTC).Before(want) {
			return t
		}
		t = t.Add(time.Minute)
	}
}

func (m *gwModel) dayStart(t time.Time) time.Time {
	l := t.In(m.loc)
	return localMidnight(l.Year(), l.Month(), l.Day(), m.loc)
}

func (m *gwModel) nextMidnight(t time.Time) time.Time {
	l := t.In(m.loc)
	return localMidnight(l.Year(), l.Month(), l.Day()+1, m.loc)
}

func (m *gwModel) capture(p *mPay, amt int64, now time.Time) {
	p.captured += amt
	p.pending += amt
	m.pending += amt
	m.scheme -= amt
	if p.firstCap.IsZero() {
		p.firstCap = now
	}
	p.lastCapture = now
	p.status = gateway.StPaid
	m.cutoffs[m.nextMidnight(now)] = true
}

// advance runs what is due by now: settlement batches and authorisation expiries.
func (m *gwModel) advance(now time.Time) {
	for c := range m.cutoffs {
		if c.After(now) {
			continue
		}
		delete(m.cutoffs, c)
		for _, p := range m.pays {
			if p.pending == 0 || !p.lastCapture.Before(c) {
				continue
			}
			fee := (p.pending*m.bps + 5000) / 10000
			if p.settled == 0 {
				fee += m.fixed
			}
			fee = min(fee, p.pending)
			m.pending -= p.pending
			m.avail += p.pending - fee
			m.fees += fee
			p.feeCharged += fee
			p.settled += p.pending
			p.pending = 0
		}
	}
	for _, p := range m.pays {
		if p.holdOpen && !p.authorisedAt.Add(gateway.AuthorisationTTL).After(now) {
			p.holdOpen = false
			if p.captured == 0 && p.status == gateway.StAuthorised {
				p.status = gateway.StExpired
			}
		}
	}
}

func (m *gwModel) held() int64 {
	var n int64
	for _, p := range m.pays {
		if p.holdOpen {
			n += p.authorised - p.captured
		}
	}
	return n
}

// TestLedgerModel drives random sequences of payments, captures (partial
// and final), refunds, cancellations and clock moves (across midnights in
// tenants east and west of UTC, across daylight-saving changes — one of
// them at midnight — and across the 7-day authorisation expiry) through
// the HTTP API, and after every step checks the ledger's invariants and
// that the merchant's pending, held and available balances, the fees and
// the card scheme are exactly what the guide's semantics say — including
// which requests the gateway must accept and which it must refuse.
func TestLedgerModel(t *testing.T) {
	zones := []struct {
		zone  string
		start time.Time
	}{
		{"Europe/London", time.Date(2027, 3, 26, 9, 0, 0, 0, time.UTC)},        // spring forward 28 March, 01:00
		{"America/Santiago", time.Date(2027, 9, 2, 15, 0, 0, 0, time.UTC)},     // spring forward 5 September at midnight
		{"America/Los_Angeles", time.Date(2027, 11, 4, 20, 0, 0, 0, time.UTC)}, // fall back 7 November
		{"Asia/Tokyo", time.Date(2027, 1, 10, 1, 0, 0, 0, time.UTC)},
		{"Pacific/Chatham", time.Date(2027, 4, 1, 1, 0, 0, 0, time.UTC)}, // +13:45, fall back 4 April
	}
	for _, e := range storetest.Engines() {
		for zi, z := range zones {
			t.Run(e.Name+"/"+z.zone, func(t *testing.T) {
				runModel(t, e, z.zone, z.start, uint64(zi+1))
			})
		}
	}
}

func runModel(t *testing.T, e storetest.Engine, zone string, start time.Time, seed uint64) {
	h := apptest.New(t, e, apptest.Options{Seed: byte(seed), Tenant: &platform.TenantSpec{Name: "Model Ltd", Mode: platform.Production, Timezone: zone}})
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	h.Clock.Set(start)
	rng := rand.New(rand.NewPCG(seed, 77))
	m := &gwModel{loc: loc, bps: 175, fixed: 20, cutoffs: map[time.Time]bool{}}
	gw := func(method, path, body string) apptest.Reply {
		t.Helper()
		hdr := map[string]string{"ConfigurationId": h.Tenant.ConfigurationID, "Hash": gateway.HashOf(h.Tenant.SigningKey, []byte(body))}
		var b []byte
		if body != "" {
			b = []byte(body)
		}
		r := h.Do(method, path, b, hdr)
		if r.Status >= 500 {
			t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
		}
		return r
	}
	autoCapture := true
	setSettings := func(auto bool) {
		b, _ := json.Marshal(gateway.GatewaySettings{AutoCapture: auto, FeeBasisPoints: m.bps, FeeFixedMinor: m.fixed})
		if r := h.Do(http.MethodPut, "/platform/gateway/settings", b, map[string]string{"api-key": h.Tenant.APIKey}); r.Status != 200 {
			t.Fatalf("settings: %d %s", r.Status, r.Body)
		}
		autoCapture = auto
	}
	setSettings(true)
	dec := func(minor int64) string { return fmt.Sprintf("%d.%02d", minor/100, minor%100) }
	check := func(step int, what string) {
		t.Helper()
		h.CheckInvariants()
		accs, err := h.App.Ledger.Accounts(context.Background(), h.App.DB.Read(), h.Tenant.TenantID, ledger.AccountFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var pend, held, avail, fees, scheme int64
		for _, a := range accs {
			switch a.Owner + "/" + a.Purpose {
			case "merchant/pending":
				pend, held = a.Balance.Posted, a.Balance.PendingIn
			case "merchant/available":
				avail = a.Balance.Posted
			case "platform/fees":
				fees = a.Balance.Posted
			case "card-scheme/clearing":
				scheme = a.Balance.Posted
			}
		}
		if pend != m.pending || held != m.held() || avail != m.avail || fees != m.fees || scheme != m.scheme {
			t.Fatalf("step %d (%s) at %s: pending %d held %d available %d fees %d scheme %d; want %d %d %d %d %d",
				step, what, h.Clock.Now().In(loc), pend, held, avail, fees, scheme, m.pending, m.held(), m.avail, m.fees, m.scheme)
		}
		if avail < 0 || pend < 0 {
			t.Fatalf("step %d: a merchant balance is negative", step)
		}
	}
	steps := []time.Duration{7 * time.Minute, 50 * time.Minute, 3 * time.Hour, 9 * time.Hour, 17 * time.Hour, 2 * 24 * time.Hour, 8 * 24 * time.Hour}
	for step := 0; step < 70; step++ {
		now := h.Clock.Now().UTC().Truncate(time.Microsecond)
		var live []*mPay
		for _, p := range m.pays {
			if p.status != gateway.StCancelled && p.status != gateway.StExpired && p.status != gateway.StRefunded {
				live = append(live, p)
			}
		}
		op := rng.IntN(10)
		if len(live) == 0 || len(m.pays) < 2 {
			op = 0
		}
		var what string
		switch {
		case op <= 1: // a new MOTO payment
			if rng.IntN(3) == 0 {
				setSettings(!autoCapture)
			}
			amt := int64(100 + rng.IntN(9900))
			r := gw("POST", "/api/gateway/payment-jobs", moto(fmt.Sprintf("model-%d", step), dec(amt)))
			if r.Status != 201 {
				t.Fatalf("create: %d %s", r.Status, r.Body)
			}
			body := r.JSON(t)
			j, pr := refs(body)
			p := &mPay{base: "/api/gateway/payment-jobs/" + j + "/payments/" + pr, authorised: amt, authorisedAt: now}
			m.pays = append(m.pays, p)
			if autoCapture {
				m.capture(p, amt, now)
			} else {
				p.status, p.holdOpen = gateway.StAuthorised, true
			}
			what = "create " + dec(amt)
		case op <= 3: // capture
			p := live[rng.IntN(len(live))]
			amt := int64(1 + rng.IntN(int(max(1, p.authorised-p.captured))+200))
			final := rng.IntN(4) == 0
			r := gw("POST", p.base+"/captures", fmt.Sprintf(`{"amountToCapture":%q,"isFinalCapture":%v}`, dec(amt), final))
			ok := p.holdOpen && (p.status == gateway.StAuthorised || p.status == gateway.StPaid) && p.captured+amt <= p.authorised
			if (r.Status == 200) != ok {
				t.Fatalf("step %d: capture %s final %v of %+v: %d %s (model accepts: %v)", step, dec(amt), final, *p, r.Status, r.Body, ok)
			}
			if ok {
				m.capture(p, amt, now)
				p.holdOpen = !final && p.captured < p.authorised
			}
			what = "capture " + dec(amt)
		case op <= 6: // refund
			p := live[rng.IntN(len(live))]
			amt := int64(1 + rng.IntN(int(max(1, p.captured-p.refunded))+100))
			r := gw("POST", p.base+"/refunds", fmt.Sprintf(`{"amountToRefund":%q}`, dec(amt)))
			fromPending := min(amt, p.pending)
			fromSettled := amt - fromPending
			// Refunding settled money returns the fee pro rata: the fee's
			// share (half up) of all settled money refunded, less what
			// earlier refunds returned.
			var feeBack int64
			if fromSettled > 0 && p.settled > 0 && fromSettled <= p.settled-p.settledRefunded {
				feeBack = (2*p.feeCharged*(p.settledRefunded+fromSettled)+p.settled)/(2*p.settled) - p.feeReturned
			}
			ok := (p.status == gateway.StPaid || p.status == gateway.StPartiallyRefunded) && amt <= p.captured-p.refunded && fromSettled-feeBack <= m.avail
			if (r.Status == 201) != ok {
				t.Fatalf("step %d: refund %s of %+v (available %d): %d %s (model accepts: %v)", step, dec(amt), *p, m.avail, r.Status, r.Body, ok)
			}
			if ok {
				p.refunded += amt
				p.pending -= fromPending
				m.pending -= fromPending
				m.avail -= fromSettled - feeBack
				m.fees -= feeBack
				p.feeReturned += feeBack
				p.settledRefunded += fromSettled
				m.scheme += amt
				p.status = gateway.StPartiallyRefunded
				if p.refunded == p.captured {
					p.status = gateway.StRefunded
				}
			}
			what = "refund " + dec(amt)
		case op <= 7: // cancel
			p := live[rng.IntN(len(live))]
			r := gw("PATCH", p.base+"/cancel", "")
			ok := (p.status == gateway.StAuthorised || p.status == gateway.StPaid) && p.settled == 0 && p.refunded == 0 &&
				(p.firstCap.IsZero() || !p.firstCap.Before(m.dayStart(now)))
			if (r.Status == 200) != ok {
				t.Fatalf("step %d: cancel of %+v at %s: %d %s (model accepts: %v)", step, *p, now.In(loc), r.Status, r.Body, ok)
			}
			if ok {
				m.pending -= p.pending
				m.scheme += p.pending
				p.pending, p.holdOpen, p.status = 0, false, gateway.StCancelled
			}
			what = "cancel"
		default: // time passes; due work runs
			d := steps[rng.IntN(len(steps))]
			h.Clock.Advance(d)
			h.RunDue()
			m.advance(h.Clock.Now().UTC().Truncate(time.Microsecond))
			what = "advance " + d.String()
		}
		check(step, what)
	}
	// Everything settles in the end.
	h.Clock.Advance(9 * 24 * time.Hour)
	h.RunDue()
	m.advance(h.Clock.Now().UTC().Truncate(time.Microsecond))
	check(-1, "final")
	if m.pending != 0 || m.held() != 0 {
		t.Errorf("after 9 days: pending %d held %d, want 0", m.pending, m.held())
	}
}

// TestJobExpiryIsSixCalendarMonths: the default expiry (and the latest one
// a job may ask for) is the guide's six calendar months, not 183 days.
func TestJobExpiryIsSixCalendarMonths(t *testing.T) {
	for _, c := range []struct{ created, want string }{
		{"2021-02-18T11:04:38.2907414Z", "2021-08-18T11:04:38.2907414Z"}, // the guide's example
		{"2021-08-31T23:59:59Z", "2022-02-28T23:59:59Z"},                 // no 31 February
		{"2023-08-31T10:00:00Z", "2024-02-29T10:00:00Z"},                 // leap year
		{"2021-09-30T00:00:00Z", "2022-03-30T00:00:00Z"},
		{"2021-12-15T08:00:00+02:00", "2022-06-15T06:00:00Z"}, // in UTC
	} {
		created, err := time.Parse(time.RFC3339Nano, c.created)
		if err != nil {
			t.Fatal(err)
		}
		if got := gateway.JobExpiry(created).Format(time.RFC3339Nano); got != c.want {
			t.Errorf("JobExpiry(%s) = %s, want %s", c.created, got, c.want)
		}
	}
}
