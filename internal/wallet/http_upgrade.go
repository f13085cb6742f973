package wallet

import (
	"net/http"

	"github.com/cashgate/cashgate/internal/httpx"
)

// upgradeRoutes are the wallet app API's Corporate+ documents and account
// details of a corporate user (its session's bearer token).
func (s *Service) upgradeRoutes(errw httpx.ErrorWriter) []httpx.Route {
	app, W := "/wallet/app/v1", httpx.APIWallet
	user := func(status int, fn func(r *http.Request, userID string) (any, error)) http.HandlerFunc {
		return handler(errw, status, func(r *http.Request) (any, error) {
			p, err := userOf(r)
			if err != nil {
				return nil, err
			}
			return fn(r, p.UserID)
		})
	}
	return []httpx.Route{
		{Method: "GET", Path: app + "/upgrade", API: W, Summary: "Corporate: the Corporate+ request, its documents and the operator's message", Response: Upgrade{},
			Handler: user(200, func(r *http.Request, uid string) (any, error) { return s.UpgradeOf(r.Context(), uid) })},
		{Method: "POST", Path: app + "/upgrade/documents", API: W, Status: 201, Query: []string{"kind", "filename"}, Response: Document{},
			RawBody: []string{"application/pdf", "image/png", "image/jpeg"}, MaxBody: MaxDocumentBytes,
			Summary: "Corporate: upload a document for Corporate+: the body is the file itself (PDF, PNG or JPEG, at most 5 MiB; " +
				"Content-Type and the filename's extension must fit the bytes), kind one of trade_register_extract, business_registration, " +
				"bank_statement, id_card, proof_of_address, other",
			Handler: user(201, func(r *http.Request, uid string) (any, error) {
				body, err := httpx.ReadBody(r, httpx.BodyLimit(r))
				if err != nil {
					return nil, err
				}
				q := r.URL.Query()
				return s.UploadDocument(r.Context(), uid, DocumentUpload{Kind: q.Get("kind"), Filename: q.Get("filename"),
					ContentType: r.Header.Get("Content-Type"), Data: body})
			})},
		{Method: "DELETE", Path: app + "/upgrade/documents/{id}", API: W, Summary: "Corporate: remove a document not sent yet", Response: WalletOK{},
			Handler: user(200, func(r *http.Request, uid string) (any, error) {
				return WalletOK{WalletOK: true}, s.DeleteDocument(r.Context(), uid, r.PathValue("id"))
			})},
		{Method: "GET", Path: app + "/account/details", API: W, Summary: "Corporate: the account details and a change of company data waiting for approval",
			Response: AccountDetails{},
			Handler:  user(200, func(r *http.Request, uid string) (any, error) { return s.DetailsOf(r.Context(), uid) })},
		{Method: "POST", Path: app + "/account/details", API: W, Request: DetailsEdit{}, Response: AccountDetails{},
			Summary: "Corporate: edit the account details: a new IBAN/BIC applies at once and must be verified again before the next withdrawal; " +
				"a new company name waits for the operator's approval",
			Handler: user(200, func(r *http.Request, uid string) (any, error) {
				var in DetailsEdit
				if err := decode(r, &in); err != nil {
					return nil, err
				}
				return s.EditDetails(r.Context(), uid, in)
			})},
	}
}
