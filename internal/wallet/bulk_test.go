package wallet_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

const bulkCallback = "http://127.0.0.1:9/callback"

func (e *env) countOf(q string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.Read().QueryRowContext(e.ctx, q, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) runJobs() {
	e.t.Helper()
	if _, err := e.runner.RunDue(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) batch(tenantID, id string) wallet.Batch {
	e.t.Helper()
	b, err := e.w.MerchantBatch(e.ctx, tenantID, id)
	ok(e.t, err)
	return b
}

// TestBulkRequests: a Corporate+ merchant's CSV file becomes money
// requests, row by row, through the single request's rules: the good rows
// are requests (with their reference as orderId, the batch's callback URL
// and their created events), the others carry the error a single request
// would have got. The same file again is the same batch: no duplicates.
func TestBulkRequests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		shop := e.corporate("shop", true)
		e.customer("alice")
		e.customer("bob")
		file := "\xef\xbb\xbfusername,amount,description,reference\r\n" +
			"alice,12.50,Invoice 118,INV-118\r\n" +
			"bob,7.00,\"Membership, December\",\r\n" +
			"nobody,1.00,Invoice 119,INV-119\r\n" +
			"alice,0.10,Too small,INV-120\r\n" +
			"bob,abc,Bad amount,INV-121\r\n" +
			"shop,1.00,Myself,INV-122\r\n"
		spec := wallet.BatchSpec{FileName: "december.csv", CSV: []byte(file), CallbackURL: bulkCallback, TimeFrame: 3600}
		b, err := e.w.CreateBatch(e.ctx, shop.TenantID, spec)
		ok(t, err)
		if b.Status != wallet.BatchQueued || b.Total != 6 || b.Pending != 6 || b.Currency != "EUR" || b.FileName != "december.csv" {
			t.Fatalf("stored batch %+v", b)
		}
		if n := e.countOf(`SELECT COUNT(*) FROM wallet_requests`); n != 0 {
			t.Fatalf("%d requests before the job ran", n)
		}
		e.runJobs()
		got := e.batch(shop.TenantID, b.ID)
		if got.Status != wallet.BatchCompleted || got.Created != 2 || got.Failed != 4 || got.Pending != 0 || got.CompletedAt == nil {
			t.Fatalf("processed batch %+v", got)
		}
		want := []struct {
			line        int
			status      string
			code, field string
			limit       string
		}{
			{2, wallet.RowCreated, "", "", ""},
			{3, wallet.RowCreated, "", "", ""},
			{4, wallet.RowFailed, "not_found", "username", ""},
			{5, wallet.RowFailed, "limit_exceeded", "", wallet.LimitMinPerTransaction},
			{6, wallet.RowFailed, "invalid", "amount", ""},
			{7, wallet.RowFailed, "invalid", "username", ""},
		}
		for i, w := range want {
			r := got.Rows[i]
			if r.Line != w.line || r.Status != w.status {
				t.Fatalf("row %d: %+v, want line %d %s", i, r, w.line, w.status)
			}
			if w.status == wallet.RowCreated {
				req, err := e.w.MerchantRequest(e.ctx, shop.TenantID, r.RequestID)
				ok(t, err)
				if req.Username != r.Username || req.Amount != r.Amount || req.OrderID != r.Reference || req.Description != r.Description ||
					req.ExpiresAt.Sub(req.CreatedAt).Seconds() != 3600 {
					t.Fatalf("row %d's request %+v from %+v", i, req, r)
				}
				continue
			}
			if r.Error == nil || r.Error.Code != w.code || r.Error.Field != w.field || r.Error.Limit != w.limit || r.Error.Message == "" || r.RequestID != "" {
				t.Fatalf("row %d: %+v error %+v, want %s %s %s", i, r, r.Error, w.code, w.field, w.limit)
			}
		}
		if n := e.countOf(`SELECT COUNT(*) FROM events WHERE type = $1`, wallet.EventRequestCreated); n != 2 {
			t.Fatalf("%d created events, want 2", n)
		}
		if n := e.countOf(`SELECT COUNT(*) FROM events WHERE type = $1 AND subject = $2`, wallet.EventBatchCompleted, b.ID); n != 1 {
			t.Fatalf("%d batch completed events", n)
		}
		if n := e.countOf(`SELECT COUNT(*) FROM wallet_requests WHERE callback_url = $1`, bulkCallback); n != 2 {
			t.Fatalf("%d requests with the batch's callback", n)
		}

		// The same file again: the same batch, nothing new.
		again, err := e.w.CreateBatch(e.ctx, shop.TenantID, spec)
		ok(t, err)
		e.runJobs()
		if again.ID != b.ID || e.countOf(`SELECT COUNT(*) FROM wallet_batches`) != 1 || e.countOf(`SELECT COUNT(*) FROM wallet_requests`) != 2 {
			t.Fatalf("second upload %+v", again)
		}
		// Other options are another batch; another tenant never sees it.
		other := spec
		other.TimeFrame = 600
		b2, err := e.w.CreateBatch(e.ctx, shop.TenantID, other)
		ok(t, err)
		if b2.ID == b.ID {
			t.Fatal("other options gave the same batch")
		}
		rival := e.corporate("rival", true)
		if _, err := e.w.MerchantBatch(e.ctx, rival.TenantID, b.ID); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("another tenant's batch: %v", err)
		}
	})
}

// TestBulkLimitsMidFile: a limit that starts refusing in the middle of a
// long file refuses the rows past it with the limit error; the rows before
// are requests. Progress is visible on the batch between the job's runs.
func TestBulkLimitsMidFile(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		shop := e.corporate("shop", true)
		e.customer("alice")
		var f strings.Builder
		f.WriteString("username,amount,description,reference\n")
		for i := range 150 {
			fmt.Fprintf(&f, "alice,1.00,Ticket %d,T-%d\n", i, i)
		}
		b, err := e.w.CreateBatch(e.ctx, shop.TenantID, wallet.BatchSpec{CSV: []byte(f.String()), CallbackURL: bulkCallback})
		ok(t, err)
		e.runJobs() // the first chunk of 100 rows
		mid := e.batch(shop.TenantID, b.ID)
		if mid.Status != wallet.BatchProcessing || mid.Created != 100 || mid.Failed != 0 || mid.Pending != 50 {
			t.Fatalf("batch after the first run: %s %d created %d failed %d pending", mid.Status, mid.Created, mid.Failed, mid.Pending)
		}
		// The operator lowers the private users' maximum per transaction
		// to 0.50 EUR: alice's next requests are over it.
		l, err := e.w.PrivateLimits(e.ctx)
		ok(t, err)
		l.MaxPerTransaction = 50
		_, err = e.w.SetPrivateLimits(e.ctx, l)
		ok(t, err)
		e.clk.Advance(time.Millisecond) // the job rescheduled itself for the next rows
		e.runJobs()
		end := e.batch(shop.TenantID, b.ID)
		if end.Status != wallet.BatchCompleted || end.Created != 100 || end.Failed != 50 {
			t.Fatalf("batch at the end: %s %d created %d failed", end.Status, end.Created, end.Failed)
		}
		for _, r := range end.Rows {
			past := r.Line > 101
			if past && (r.Status != wallet.RowFailed || r.Error.Code != "limit_exceeded" || r.Error.Limit != wallet.LimitMaxPerTransaction) {
				t.Fatalf("row past the limit: %+v %+v", r, r.Error)
			}
			if !past && (r.Status != wallet.RowCreated || r.RequestID == "") {
				t.Fatalf("row before the limit: %+v %+v", r, r.Error)
			}
		}
		if n := e.countOf(`SELECT COUNT(*) FROM wallet_requests`); n != 100 {
			t.Fatalf("%d requests, want 100", n)
		}
	})
}

// TestBulkSameFileAtOnce: the same file uploaded twice at the same moment
// gives one batch (one set of rows, one job).
func TestBulkSameFileAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		shop := e.corporate("shop", true)
		e.customer("alice")
		spec := wallet.BatchSpec{CSV: []byte("username,amount,description,reference\nalice,2.00,Once,R-1\nalice,3.00,Twice,R-2\n"), CallbackURL: bulkCallback}
		const n = 4
		ids := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				b, err := e.w.CreateBatch(e.ctx, shop.TenantID, spec)
				ids[i], errs[i] = b.ID, err
			}()
		}
		close(start)
		wg.Wait()
		for i := range n {
			ok(t, errs[i])
			if ids[i] != ids[0] {
				t.Fatalf("uploads gave batches %v", ids)
			}
		}
		e.runJobs()
		if e.countOf(`SELECT COUNT(*) FROM wallet_batches`) != 1 || e.countOf(`SELECT COUNT(*) FROM wallet_batch_rows`) != 2 ||
			e.countOf(`SELECT COUNT(*) FROM wallet_requests`) != 2 || e.countOf(`SELECT COUNT(*) FROM jobs WHERE kind = $1`, wallet.JobProcessBatch) != 1 {
			t.Fatal("a concurrent upload was stored twice")
		}
	})
}

// TestBulkCorporateRefused: bulk input is Corporate+'s: a Corporate
// account is refused with the upgrade path, also when the operator opened
// the merchant API to every corporate account.
func TestBulkCorporateRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		shop := e.corporate("shop", false)
		e.customer("alice")
		_, err := e.w.SetAPIAccessRule(e.ctx, wallet.APIAccess{CorporatePlusOnly: false})
		ok(t, err)
		_, err = e.w.CreateBatch(e.ctx, shop.TenantID, wallet.BatchSpec{CSV: []byte("username,amount,description,reference\nalice,2.00,x,\n"), CallbackURL: bulkCallback})
		if ae := apperr.From(err); ae.Code != apperr.Forbidden || !strings.Contains(ae.Message, "Upgrade to Corporate+") || !strings.Contains(ae.Message, "bulk") {
			t.Fatalf("Corporate bulk upload: %v", err)
		}
		if e.countOf(`SELECT COUNT(*) FROM wallet_batches`) != 0 {
			t.Fatal("a refused upload was stored")
		}
	})
}

// TestBulkRefusedAsAWhole: a malformed file, or bad options, is refused
// as a whole with the line at fault, and nothing is stored.
func TestBulkRefusedAsAWhole(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		shop := e.corporate("shop", true)
		const h = "username,amount,description,reference\n"
		many := h + strings.Repeat("alice,1.00,x,\n", wallet.MaxBatchRows+1)
		for _, c := range []struct {
			name, file, callback, currency string
			code                           apperr.Code
			field, want                    string
		}{
			{"empty", "", bulkCallback, "", apperr.Invalid, "file", "line 1: the file is empty"},
			{"header only", h, bulkCallback, "", apperr.Invalid, "file", "line 2: the file has a header and no rows"},
			{"wrong header", "user,amount,description,reference\nalice,1.00,x,\n", bulkCallback, "", apperr.Invalid, "file", "line 1: the header row must be"},
			{"columns", h + "alice,1.00,x,\nbob,1.00\n", bulkCallback, "", apperr.Invalid, "file", "line 3: want 4 columns"},
			{"bare quote", h + "alice,1.00,x,\nal\"ice,1.00,x,\n", bulkCallback, "", apperr.Invalid, "file", "line 3: "},
			{"NUL", h + "alice,1.00,x\x00y,\n", bulkCallback, "", apperr.Invalid, "file", "line 2: column description contains a control character"},
			{"right-to-left override", h + "alice,1.00,invoice\u202efdp.exe,\n", bulkCallback, "", apperr.Invalid, "file", "line 2: column description contains a control character"},
			{"line break in quotes", h + "alice,1.00,\"two\nlines\",\n", bulkCallback, "", apperr.Invalid, "file", "line 2: column description"},
			{"not UTF-8", h + "alice,1.00,ok,\nbob,1.00,caf\xe9,\n", bulkCallback, "", apperr.Invalid, "file", "line 3: the file is not UTF-8"},
			{"too many rows", many, bulkCallback, "", apperr.TooLarge, "file", fmt.Sprintf("line %d: the file has more than %d rows", wallet.MaxBatchRows+2, wallet.MaxBatchRows)},
			{"too many bytes", h + strings.Repeat("x", wallet.MaxBatchBytes), bulkCallback, "", apperr.TooLarge, "file", "larger than"},
			{"no callback", h + "alice,1.00,x,\n", "", "", apperr.Invalid, "callbackUrl", "callbackUrl is required"},
			{"bad currency", h + "alice,1.00,x,\n", bulkCallback, "XXY", apperr.Invalid, "currency", ""},
		} {
			_, err := e.w.CreateBatch(e.ctx, shop.TenantID, wallet.BatchSpec{CSV: []byte(c.file), CallbackURL: c.callback, Currency: c.currency})
			ae := apperr.From(err)
			if ae.Code != c.code || ae.Field != c.field || !strings.Contains(ae.Message, c.want) {
				t.Errorf("%s: %v (%s, field %q), want %s %q", c.name, err, ae.Code, ae.Field, c.code, c.want)
			}
		}
		if e.countOf(`SELECT COUNT(*) FROM wallet_batches`) != 0 || e.countOf(`SELECT COUNT(*) FROM wallet_batch_rows`) != 0 {
			t.Fatal("a refused file was stored")
		}
	})
}

// upload posts a bulk file to the merchant API.
func (s *stack) upload(t *testing.T, path, tok, contentType string, body []byte, hdr map[string]string) resp {
	t.Helper()
	req, _ := http.NewRequest("POST", s.srv.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+tok)
	return send(t, req, hdr)
}

func multipartBatch(t *testing.T, file string, fields map[string]string, partType string) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		ok(t, mw.WriteField(k, v))
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="december.csv"`)
	h.Set("Content-Type", partType)
	w, err := mw.CreatePart(h)
	ok(t, err)
	_, _ = w.Write([]byte(file))
	ok(t, mw.Close())
	return mw.FormDataContentType(), b.Bytes()
}

// TestBulkOverHTTP: the merchant API takes the file as text/csv (options
// in the query) or multipart/form-data; the answer is the stored batch
// (202); GET shows its progress and per-row results; the same
// Idempotency-Key or the same file gives the same batch. A Corporate
// account is refused at the door with the API's upgrade error; a file
// part that is no CSV, a wrong media type and a malformed file are refused.
func TestBulkOverHTTP(t *testing.T) {
	for _, eng := range storetest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			s := newStack(t, eng)
			w := s.a.Wallet.Service
			ctx := t.Context()
			plus, err := w.CreateCorporate(ctx, wallet.CorporateSpec{CompanyName: "Big Shop", Username: "bigshop", Password: "bigshop-password",
				PIN: "4321", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX"})
			ok(t, err)
			_, err = w.ApproveUpgrade(ctx, plus.TenantID, true)
			ok(t, err)
			basic, err := w.CreateCorporate(ctx, wallet.CorporateSpec{CompanyName: "Small Shop", Username: "smallshop", Password: "smallshop-password",
				PIN: "4321", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX"})
			ok(t, err)
			s.must(t, 201, "POST", "/wallet/app/v1/signup", "", wallet.WalletSignUp{Username: "alice", Password: "alice-password", PIN: "1234"}, nil)
			site := newMerchantSite(t, 0)
			file := "username,amount,description,reference\nalice,4.00,Invoice 1,INV-1\nzed,1.00,Invoice 2,INV-2\n"
			q := "/wallet/api/v1/batches?callbackUrl=" + url.QueryEscape(site.srv.URL+"/cb") + "&timeFrame=600"

			r := s.upload(t, q, s.merchantToken(t, basic), "text/csv", []byte(file), nil)
			if r.status != 403 || !strings.Contains(string(r.body), "Upgrade to Corporate+") {
				t.Fatalf("Corporate upload: %d %s", r.status, r.body)
			}

			tok := s.merchantToken(t, plus)
			key := map[string]string{"Idempotency-Key": "bulk-1"}
			var b wallet.Batch
			r = s.upload(t, q, tok, "text/csv; charset=utf-8", []byte(file), key)
			if r.status != 202 {
				t.Fatalf("upload: %d %s", r.status, r.body)
			}
			r.decode(t, &b)
			if b.Status != wallet.BatchQueued || b.Total != 2 || b.TimeFrame != 600 {
				t.Fatalf("batch %+v", b)
			}
			var again wallet.Batch
			s.upload(t, q, tok, "text/csv; charset=utf-8", []byte(file), key).decode(t, &again)
			ct, body := multipartBatch(t, file, map[string]string{"callbackUrl": site.srv.URL + "/cb", "timeFrame": "600"}, "text/csv")
			var viaForm wallet.Batch
			r = s.upload(t, "/wallet/api/v1/batches", tok, ct, body, nil)
			r.decode(t, &viaForm)
			if again.ID != b.ID || viaForm.ID != b.ID || r.status != 202 {
				t.Fatalf("replays gave %s and %s (%d), want %s", again.ID, viaForm.ID, r.status, b.ID)
			}

			s.a.Runner.RunDue(ctx)
			var got wallet.Batch
			s.must(t, 200, "GET", "/wallet/api/v1/batches/"+b.ID, tok, nil, &got)
			if got.Status != wallet.BatchCompleted || got.Created != 1 || got.Failed != 1 || len(got.Rows) != 2 ||
				got.Rows[0].RequestID == "" || got.Rows[1].Error == nil || got.Rows[1].Error.Code != "not_found" {
				t.Fatalf("processed batch %+v", got)
			}
			var req wallet.MoneyRequest
			s.must(t, 200, "GET", "/wallet/api/v1/requests/"+got.Rows[0].RequestID, tok, nil, &req)
			if req.OrderID != "INV-1" || req.Amount != "4.00" {
				t.Fatalf("request %+v", req)
			}
			var list wallet.BatchList
			s.must(t, 200, "GET", "/wallet/api/v1/batches", tok, nil, &list)
			if len(list.Batches) != 1 || list.Batches[0].ID != b.ID || list.Batches[0].Rows != nil {
				t.Fatalf("list %+v", list)
			}

			for _, c := range []struct {
				name, ct string
				body     []byte
				path     string
				status   int
				want     string
			}{
				{"json", "application/json", []byte(`{}`), q, 415, "text/csv or multipart/form-data"},
				{"malformed", "text/csv", []byte("username,amount,description,reference\nalice,1.00\n"), q, 400, "line 2: want 4 columns"},
				{"unknown option", "text/csv", []byte(file), q + "&retail=true", 400, `unknown option \"retail\"`},
				{"no callback", "text/csv", []byte(file), "/wallet/api/v1/batches", 400, "callbackUrl is required"},
			} {
				r := s.upload(t, c.path, tok, c.ct, c.body, nil)
				if r.status != c.status || !strings.Contains(string(r.body), c.want) {
					t.Errorf("%s: %d %s", c.name, r.status, r.body)
				}
			}
			ct, body = multipartBatch(t, file, map[string]string{"callbackUrl": site.srv.URL}, "image/png")
			if r := s.upload(t, "/wallet/api/v1/batches", tok, ct, body, nil); r.status != 415 || !strings.Contains(string(r.body), `"field":"file"`) {
				t.Errorf("png part: %d %s", r.status, r.body)
			}
			big := append([]byte("username,amount,description,reference\n"), bytes.Repeat([]byte("alice,1.00,x,\n"), 80_000)...)
			if r := s.upload(t, q, tok, "text/csv", big, nil); r.status != 413 {
				t.Errorf("big file: %d %s", r.status, r.body)
			}
		})
	}
}
