package cashier

import (
	"net/http"
	"strconv"

	"github.com/cashgate/cashgate/internal/httpx"
)

// agentHandler adapts fn, which needs the calling agent.
func (s *Service) agentHandler(errw httpx.ErrorWriter, fn func(r *http.Request, tenantID string, ag Agent) (any, error)) http.HandlerFunc {
	return httpx.HandleOptionalBody(errw, http.StatusOK, func(r *http.Request, _ httpx.NoBody) (any, error) {
		tid, ag, err := s.agentOf(r)
		if err != nil {
			return nil, err
		}
		return fn(r, tid, ag)
	})
}

// agentBody adapts fn, which needs the calling agent and a JSON body.
func agentBody[Req any](s *Service, errw httpx.ErrorWriter, status int, optional bool, fn func(r *http.Request, tenantID string, ag Agent, in Req) (any, error)) http.HandlerFunc {
	h := func(r *http.Request, in Req) (any, error) {
		tid, ag, err := s.agentOf(r)
		if err != nil {
			return nil, err
		}
		return fn(r, tid, ag, in)
	}
	if optional {
		return httpx.HandleOptionalBody(errw, status, h)
	}
	return httpx.Handle(errw, status, h)
}

func (s *Service) agentRoutes(errw httpx.ErrorWriter) []httpx.Route {
	C, A := httpx.APICashier, base+"/agent"
	return []httpx.Route{
		{Method: "GET", Path: A + "/deposits", API: C, Summary: "Agent API: list and search deposits", Query: filterQuery, Response: DepositList{},
			Handler: s.listDeposits(errw, true)},
		{Method: "GET", Path: A + "/payouts", API: C, Summary: "Agent API: list and search payouts (the approval queue: status=requested)",
			Query: filterQuery, Response: PayoutList{}, Handler: s.listPayouts(errw, true)},
		{Method: "POST", Path: A + "/payouts/{id}/approve", API: C, Summary: "Agent API: approve a requested payout (then sent through its PSP)",
			Response: Payout{}, Handler: s.agentHandler(errw, func(r *http.Request, tid string, ag Agent) (any, error) {
				return s.ApprovePayout(r.Context(), tid, r.PathValue("id"), ag, ByAgentAPI)
			})},
		{Method: "POST", Path: A + "/payouts/{id}/reject", API: C, Summary: "Agent API: reject a requested payout (its money goes back)",
			Request: DecisionRequest{}, Response: Payout{},
			Handler: agentBody(s, errw, http.StatusOK, false, func(r *http.Request, tid string, ag Agent, in DecisionRequest) (any, error) {
				return s.RejectPayout(r.Context(), tid, r.PathValue("id"), ag, ByAgentAPI, in.Reason)
			})},
		{Method: "POST", Path: A + "/deposits/{id}/capture", API: C, Summary: "Agent API: capture an authorised deposit (all, or the amount given)",
			Request: CaptureRequest{}, Response: Deposit{},
			Handler: agentBody(s, errw, http.StatusOK, true, func(r *http.Request, tid string, ag Agent, in CaptureRequest) (any, error) {
				return s.CaptureDeposit(r.Context(), tid, r.PathValue("id"), in, ag, ByAgentAPI)
			})},
		{Method: "POST", Path: A + "/deposits/{id}/void", API: C, Summary: "Agent API: void an authorised deposit", Response: Deposit{},
			Handler: s.agentHandler(errw, func(r *http.Request, tid string, ag Agent) (any, error) {
				return s.VoidDeposit(r.Context(), tid, r.PathValue("id"), ag, ByAgentAPI)
			})},
		{Method: "POST", Path: A + "/deposits/{id}/refund", API: C, Summary: "Agent API: refund a captured deposit from the customer's balance",
			Response: Deposit{}, Handler: s.agentHandler(errw, func(r *http.Request, tid string, ag Agent) (any, error) {
				return s.RefundDeposit(r.Context(), tid, r.PathValue("id"), ag, ByAgentAPI)
			})},
		{Method: "POST", Path: A + "/deposits/moto", API: C, Status: http.StatusCreated,
			Summary: "Agent API: a MOTO deposit, the customer's card entered by the agent (no 3-D Secure)", Request: DepositRequest{}, Response: Deposit{},
			Handler: agentBody(s, errw, http.StatusCreated, false, func(r *http.Request, tid string, ag Agent, in DepositRequest) (any, error) {
				return s.MOTODeposit(r.Context(), tid, in, ag)
			})},
		{Method: "POST", Path: A + "/deposits/offline", API: C, Status: http.StatusCreated,
			Summary: "Agent API: record a manual (offline) deposit, captured at once", Request: DepositRequest{}, Response: Deposit{},
			Handler: agentBody(s, errw, http.StatusCreated, false, func(r *http.Request, tid string, ag Agent, in DepositRequest) (any, error) {
				return s.OfflineDeposit(r.Context(), tid, in, ag)
			})},
		{Method: "POST", Path: A + "/bank-transfers", API: C, Summary: "Agent API: credit a bank transfer that arrived: captures the deposit of its reference",
			Request: BankCredit{}, Response: Deposit{},
			Handler: agentBody(s, errw, http.StatusOK, false, func(r *http.Request, tid string, ag Agent, in BankCredit) (any, error) {
				return s.CreditBankTransfer(r.Context(), tid, in, ag)
			})},
		{Method: "POST", Path: A + "/payouts/export", API: C,
			Summary: "Agent API: export the bank payouts waiting into a pain.001 file (application/xml; 204 when none waits)", Handler: s.exportHandler(errw)},
		{Method: "POST", Path: A + "/payouts/batches/{batch}/paid", API: C, Summary: "Agent API: the bank executed an exported file (or one payout of it)",
			Response: BankBatchResult{}, Handler: s.agentHandler(errw, func(r *http.Request, tid string, ag Agent) (any, error) {
				return s.MarkBankPaid(r.Context(), tid, r.PathValue("batch"), ag)
			})},
		{Method: "POST", Path: A + "/payouts/{id}/return", API: C, Summary: "Agent API: the bank returned an exported payout (its money goes back)",
			Request: DecisionRequest{}, Response: Payout{},
			Handler: agentBody(s, errw, http.StatusOK, false, func(r *http.Request, tid string, ag Agent, in DecisionRequest) (any, error) {
				return s.ReturnBankPayout(r.Context(), tid, r.PathValue("id"), in.Reason, ag)
			})},
		{Method: "GET", Path: A + "/audit", API: C, Summary: "Agent API: the audit log of agents' actions, newest first", Query: []string{"limit", "cursor"},
			Response: AuditList{}, Handler: s.agentHandler(errw, func(r *http.Request, tid string, _ Agent) (any, error) {
				p, err := pageOf(r.URL.Query())
				if err != nil {
					return nil, err
				}
				return s.Audit(r.Context(), tid, p)
			})},
	}
}

// exportHandler answers the pain.001 file committed with the export, or
// 204 when no payout waits.
func (s *Service) exportHandler(errw httpx.ErrorWriter) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tid, ag, err := s.agentOf(r)
		var x Export
		if err == nil {
			x, err = s.ExportPayouts(r.Context(), tid, ag)
		}
		if err == nil && x.Count > 0 {
			w.Header().Set("Cashier-Batch-Id", x.BatchID)
			w.Header().Set("Cashier-Batch-Count", strconv.Itoa(x.Count))
		}
		httpx.Respond(w, r, errw, http.StatusNoContent, nil, err) // the committed answer: the file, or 204
	}
}
