package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/gateway"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// The guide's three examples ("External 3DS v2 solutions", "eWallet
// external 3DS v2", "PAN CV2less"), verbatim but for the expiry year (the
// guide's "25" is in the past of the test clock).
const (
	guideExternal3DS = `{"amountToCollect":"10","currency":"GBP","parameters":{"CardNumber":"5400100400099001","CardHolderName":"Han Solo",
"CardExpiryYear":"30","CardExpiryMonth":"12","CardCvc":"123","ThreeDSecureVersion":"2.2.0","ThreeDSecureCavv":"5dc4a6a39b6730a360e42c3b5f+=",
"ThreeDSecureEci":"02","ThreeDSecureDSTransId":"c5b808e7-1de1-4069-a17b-f70d3b3b1645","ReturnUrlCancelled":"https://example.com?result=canceled",
"ReturnUrlFailed":"https://example.com?result=failed","ReturnUrlSuccess":"https://example.com?result=success"},"paymentMethodsToUse":["card"]}`
	guideEwallet = `{"amountToCollect":"10","currency":"GBP","parameters":{"CardNumber":"5400100400099001","CardHolderName":"Han Solo",
"CardExpiryYear":"30","CardExpiryMonth":"12","EwalletType":"ApplePay","ThreeDSecureCavv":"5dc4a6a39b6730a360e42c3b5f+=","ThreeDSecureEci":"02",
"ReturnUrlCancelled":"https://example.com?result=canceled","ReturnUrlFailed":"https://example.com?result=failed",
"ReturnUrlSuccess":"https://example.com?result=success"},"paymentMethodsToUse":["card"]}`
	guideCV2less = `{"amountToCollect":"10","currency":"GBP","parameters":{"CardNumber":"4510500400099002","CardHolderName":"Han Solo",
"CardExpiryYear":"2028","CardExpiryMonth":"12","ThreeDSecureVersion":"2.1.0","ThreeDSecureCavv":"0H4G2ZcW398zA1Q8XyAI70H7nXY=",
"ThreeDSecureEci":"05","ThreeDSecureDSTransId":"111dc9c3-6644-4164-9661-3afa0e8f64e1","ReturnUrlCancelled":"https://example.com?result=canceled",
"ReturnUrlFailed":"https://example.com?result=failed","ReturnUrlSuccess":"https://example.com?result=success"},
"paymentMethodsToUse":["card"],"options":["UsingStoredCredentials"]}`
)

// edit returns body with the first old replaced by new (the test fails when
// old is not in it).
func edit(t *testing.T, body, old, new string) string {
	t.Helper()
	if !strings.Contains(body, old) {
		t.Fatalf("%q not in %s", old, body)
	}
	return strings.Replace(body, old, new, 1)
}

func acquiring(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal([]byte(attrs(firstPayment(m))["cashFlowsAcquiringDetails"].(string)), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func mpi(on bool) gateway.GatewaySettings {
	return gateway.GatewaySettings{AutoCapture: true, ExternalMPIProvider: &on}
}

// TestExternalThreeDSecureFlagOff: without the External MPI Provider flag
// the gateway uses its own 3-D Secure, as the guide says ("the gateway may
// attempt to perform 3DS on card transactions using our own solution"):
// the guide's external example on an enrolled card waits for cashgate's
// challenge; an e-wallet token needs the flag; PAN CV2less is
// authenticated by cashgate's 3-D Secure, so a card not enrolled is
// declined and an enrolled one challenged.
func TestExternalThreeDSecureFlagOff(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			if s := h.getSettings(); s.ExternalMPIProvider == nil || *s.ExternalMPIProvider {
				t.Fatalf("default flag: %v", s.ExternalMPIProvider)
			}
			m := h.must("POST", "/api/gateway/payment-jobs", guideExternal3DS, 201)
			if p := firstPayment(m); p["status"] != "Pending" || !strings.Contains(actionURL(m), "/payment/form-post?ref=") {
				t.Errorf("own 3-D Secure: %v %s", p["status"], actionURL(m))
			}
			if r := h.call("POST", "/api/gateway/payment-jobs", guideEwallet); r.Status != 400 || !bytes.Contains(r.Body, []byte(`"field":"ewalletType"`)) {
				t.Errorf("e-wallet without the flag: %d %s", r.Status, r.Body)
			}
			notEnrolled := `{"amountToCollect":"10","currency":"GBP","parameters":{"cardNumber":"4000000000000010","cardExpiryYear":"30","cardExpiryMonth":"12"},"options":["UsingStoredCredentials"]}`
			m = h.must("POST", "/api/gateway/payment-jobs", notEnrolled, 201)
			if p := firstPayment(m); p["status"] != "Failed" || !strings.Contains(mustJSONString(t, p), "Card payments without 3D Secure are not allowed.") {
				t.Errorf("CV2less, not enrolled: %v", p)
			}
			enrolled := `{"amountToCollect":"10","currency":"GBP","parameters":{"cardNumber":"4000000000000002","cardHolderName":"Han Solo","cardExpiryYear":"30","cardExpiryMonth":"12"},"options":["UsingStoredCredentials"]}`
			m = h.must("POST", "/api/gateway/payment-jobs", enrolled, 201)
			if firstPayment(m)["status"] != "Pending" {
				t.Errorf("CV2less, enrolled: %v", firstPayment(m))
			}
		})
	}
}

// TestExternalThreeDSecure: with the External MPI Provider flag, the
// guide's three examples are paid at once without cashgate's challenge,
// their acquiring details showing the authentication (never its CAVV); the
// simulator declines an ECI that is not authenticated and an all-zero
// CAVV; every card payment job must carry its authentication, a job without
// card details (the hosted page) is refused, so are payment links and the
// Virtual Terminal; MOTO payments need none and refuse it. The CAVV is in
// no stored row and no log line.
func TestExternalThreeDSecure(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			logs := &lockedBuffer{}
			a := apptest.New(t, e, apptest.Options{Seed: 3, LogAll: logs})
			h := &harness{App: a, app: a.App}
			link := h.must("POST", "/api/gateway/payment-jobs", `{"currency":"GBP","amountToCollect":"3.00"}`, 201) // before the flag
			h.settings(mpi(true))
			h.settings(gateway.GatewaySettings{AutoCapture: true}) // left out: unchanged
			if s := h.getSettings(); s.ExternalMPIProvider == nil || !*s.ExternalMPIProvider {
				t.Fatalf("flag: %v", s.ExternalMPIProvider)
			}

			for _, c := range []struct{ name, body, wallet, eci, version string }{
				{"external_3ds", guideExternal3DS, "", "02", "2.2.0"},
				{"ewallet", guideEwallet, "ApplePay", "02", ""},
				{"cv2less", guideCV2less, "", "05", "2.1.0"},
			} {
				r := h.call("POST", "/api/gateway/payment-jobs", c.body, "Idempotency-Key", "x3ds-"+c.name)
				if r.Status != 201 {
					t.Fatalf("%s: %d %s", c.name, r.Status, r.Body)
				}
				m := r.JSON(t)
				d := acquiring(t, m)
				if p := firstPayment(m); p["status"] != "Paid" || d["AuthenticationStatus"] != "Y" || d["Eci"] != c.eci || d["ExternalMpi"] != true ||
					d["ThreeDSecureVersion"] != nil && d["ThreeDSecureVersion"] != c.version || (c.wallet != "") != (d["EwalletType"] == c.wallet) {
					t.Errorf("%s: %v, acquiring %v", c.name, p["status"], d)
				}
				if strings.Contains(actionURL(m), "/payment/") {
					t.Errorf("%s: sent to cashgate's challenge: %s", c.name, actionURL(m))
				}
				h.golden("payment_job_"+c.name, r.Body)
			}

			declined := []struct{ name, body string }{
				{"ECI 00 (Mastercard: not authenticated)", edit(t, guideExternal3DS, `"ThreeDSecureEci":"02"`, `"ThreeDSecureEci":"00"`)},
				{"Visa ECI 07", edit(t, guideCV2less, `"ThreeDSecureEci":"05"`, `"ThreeDSecureEci":"07"`)},
				{"all-zero CAVV", edit(t, guideEwallet, "5dc4a6a39b6730a360e42c3b5f+=", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=")},
			}
			for _, c := range declined {
				m := h.must("POST", "/api/gateway/payment-jobs", c.body, 201)
				if p := firstPayment(m); p["status"] != "Failed" || data(m)["paymentStatus"] != "Cancelled" ||
					!strings.Contains(mustJSONString(t, p), "3DSecure Authentication Failed - Payment cannot proceed.") || acquiring(t, m)["AuthenticationStatus"] != "N" {
					t.Errorf("%s: %v", c.name, p)
				}
			}

			refused := []struct{ name, body, field string }{
				{"no authentication", `{"amountToCollect":"10","currency":"GBP","parameters":{"cardNumber":"4000000000000010","cardCvc":"123","cardExpiryYear":"30","cardExpiryMonth":"12"}}`, "threeDSecureVersion"},
				{"no CAVV", edit(t, guideExternal3DS, `"ThreeDSecureCavv":"5dc4a6a39b6730a360e42c3b5f+=",`, ""), "threeDSecureCavv"},
				{"no DSTransId", edit(t, guideExternal3DS, `"ThreeDSecureDSTransId":"c5b808e7-1de1-4069-a17b-f70d3b3b1645",`, ""), "threeDSecureDSTransId"},
				{"version 1", edit(t, guideExternal3DS, `"2.2.0"`, `"1.0.2"`), "threeDSecureVersion"},
				{"CAVV not base64", edit(t, guideExternal3DS, "5dc4a6a39b6730a360e42c3b5f+=", "not a cavv!"), "threeDSecureCavv"},
				{"ECI", edit(t, guideExternal3DS, `"ThreeDSecureEci":"02"`, `"ThreeDSecureEci":"2"`), "threeDSecureEci"},
				{"DSTransId", edit(t, guideExternal3DS, "c5b808e7-1de1-4069-a17b-f70d3b3b1645", "c5b808e7"), "threeDSecureDSTransId"},
				{"wallet type", edit(t, guideEwallet, "ApplePay", "PayByPhone"), "ewalletType"},
				{"wallet with a CVC", edit(t, guideEwallet, `"EwalletType"`, `"CardCvc":"123","EwalletType"`), "cardCvc"},
				{"hosted page", `{"currency":"GBP","amountToCollect":"5.00"}`, "cardNumber"},
				{"MOTO with values", edit(t, guideExternal3DS, `"paymentMethodsToUse"`, `"options":["IsMoto"],"paymentMethodsToUse"`), "threeDSecureCavv"},
			}
			for _, c := range refused {
				if r := h.call("POST", "/api/gateway/payment-jobs", c.body); r.Status != 400 || !bytes.Contains(r.Body, []byte(`"field":"`+c.field+`"`)) {
					t.Errorf("%s: %d %s", c.name, r.Status, r.Body)
				}
			}
			if r := h.call("POST", "/api/gateway/payment-jobs", `{"currency":"GBP","amountToCollect":"5.00"}`); !bytes.Contains(r.Body, []byte(gateway.MsgDetailsRequired.Message)) {
				t.Errorf("hosted page job: %s", r.Body)
			}
			if p := firstPayment(h.must("POST", "/api/gateway/payment-jobs", moto("x-moto", "2.00"), 201)); p["status"] != "Paid" {
				t.Errorf("MOTO: %v", p)
			}

			// Payment links, the Virtual Terminal and the hosted page of a link made before.
			if r := h.Do("POST", "/platform/gateway/payment-links", []byte(`{"amountToCollect":"5.00","currency":"GBP"}`),
				map[string]string{"api-key": h.Tenant.APIKey}); r.Status != 409 || !bytes.Contains(r.Body, []byte(gateway.MsgMPIUnavailable.Message)) {
				t.Errorf("payment link: %d %s", r.Status, r.Body)
			}
			_, err := h.app.Gateway.Service.TakeTerminalPayment(context.Background(), h.Tenant.TenantID, gateway.TerminalPayment{Amount: "4.00", Currency: "GBP",
				CardNumber: "4000000000000010", ExpiryMonth: "12", ExpiryYear: "30", CVC: "123"})
			if e := apperr.From(err); e.Code != apperr.Conflict || e.Message != gateway.MsgMPIUnavailable.Message {
				t.Errorf("virtual terminal: %v", err)
			}
			page := actionURL(link)
			form := "cardNumber=4000000000000010&cardExpiryMonth=12&cardExpiryYear=30&cardCvc=123"
			resp, err := h.NoRedirect.Post(page, "application/x-www-form-urlencoded", strings.NewReader(form))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 409 {
				t.Errorf("hosted card page of an earlier link: %d", resp.StatusCode)
			}

			h.RunDue()
			for _, secret := range []string{"5dc4a6a39b6730a360e42c3b5f+=", "0H4G2ZcW398zA1Q8XyAI70H7nXY="} {
				if where := storedAt(t, h.app.DB, secret); len(where) > 0 {
					t.Errorf("the CAVV %s is stored in %v", secret, where)
				}
				if strings.Contains(logs.String(), secret) {
					t.Errorf("the log has the CAVV %s", secret)
				}
			}
			if logs.String() == "" {
				t.Error("the log check is blind")
			}
		})
	}
}

// TestStoredCredentialsWithToken: a token paid with UsingStoredCredentials
// and no authentication is merchant-initiated (no 3-D Secure, no CVC, also
// with the flag); with the values it is an authenticated payment, verified
// by the simulator.
func TestStoredCredentialsWithToken(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			tok := data(h.must("POST", "/api/gateway/card-tokenisation",
				`{"cardNumber":"4000000000000002","cardExpiryYear":"30","cardExpiryMonth":"10","cardCvc":"123","cardHolderName":"Han Solo"}`, 201))["token"].(string)
			h.settings(mpi(true))
			mit := `{"amountToCollect":"10","currency":"GBP","parameters":{"token":"` + tok + `"},"options":["UsingStoredCredentials"],"order":{"orderNumber":"mit-1"}}`
			m := h.must("POST", "/api/gateway/payment-jobs", mit, 201)
			if p := firstPayment(m); p["status"] != "Paid" || acquiring(t, m)["ExternalMpi"] != nil {
				t.Errorf("merchant-initiated: %v %v", p["status"], acquiring(t, m))
			}
			authed := edit(t, mit, `"token":"`+tok+`"`, `"token":"`+tok+`","ThreeDSecureVersion":"2.1.0","ThreeDSecureCavv":"0H4G2ZcW398zA1Q8XyAI70H7nXY=","ThreeDSecureEci":"07","ThreeDSecureDSTransId":"111dc9c3-6644-4164-9661-3afa0e8f64e1"`)
			m = h.must("POST", "/api/gateway/payment-jobs", edit(t, authed, "mit-1", "mit-2"), 201)
			if p := firstPayment(m); p["status"] != "Failed" || acquiring(t, m)["AuthenticationStatus"] != "N" {
				t.Errorf("authenticated, ECI 07: %v %v", p["status"], acquiring(t, m))
			}
			m = h.must("POST", "/api/gateway/payment-jobs", edit(t, edit(t, authed, `"07"`, `"05"`), "mit-1", "mit-3"), 201)
			if p := firstPayment(m); p["status"] != "Paid" || acquiring(t, m)["AuthenticationStatus"] != "Y" {
				t.Errorf("authenticated, ECI 05: %v %v", p["status"], acquiring(t, m))
			}
			// Without the option, a token needs the authentication (the shopper is there).
			if r := h.call("POST", "/api/gateway/payment-jobs", edit(t, edit(t, mit, `,"options":["UsingStoredCredentials"]`, ""), "mit-1", "mit-4")); r.Status != 400 {
				t.Errorf("token without authentication: %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestMethodNamedUnderExternalMPI: the guide's "If multiple payment methods
// are enabled while External MPI Provider is enabled, the create payment
// job request needs to specify the desired payment method with the
// paymentMethodsToUse field": with cards and PayPal enabled, a job that
// names no method is refused; one that names it, or a tenant with the
// cards alone, is served.
func TestMethodNamedUnderExternalMPI(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			unnamed := edit(t, guideExternal3DS, `,"paymentMethodsToUse":["card"]`, ``)
			h.settings(mpi(true))
			if r := h.call("POST", "/api/gateway/payment-jobs", unnamed); r.Status != 201 {
				t.Fatalf("cards alone, no method named: %d %s", r.Status, r.Body)
			}
			h.enableMethods(true, "Card", "CreditCard", "PayPal")
			h.settings(mpi(true))
			r := h.call("POST", "/api/gateway/payment-jobs", unnamed)
			if r.Status != 400 || !strings.Contains(string(r.Body), `"code":"PaymentMethodRequired"`) || !strings.Contains(string(r.Body), "paymentMethodsToUse") {
				t.Fatalf("cards and PayPal, no method named: %d %s", r.Status, r.Body)
			}
			if r := h.call("POST", "/api/gateway/payment-jobs", guideExternal3DS); r.Status != 201 {
				t.Fatalf("the guide's example names the card: %d %s", r.Status, r.Body)
			}
			h.settings(mpi(false))
			if r := h.call("POST", "/api/gateway/payment-jobs", unnamed); r.Status != 201 {
				t.Fatalf("flag off, no method named: %d %s", r.Status, r.Body)
			}
		})
	}
}
