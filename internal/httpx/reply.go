package httpx

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/cashgate/cashgate/internal/store"
)

// The write-handler contract: a write answers from inside its transaction.
//
// A handler whose request may carry an Idempotency-Key renders its success
// response with Reply, inside the Transact that makes its effects. When the
// request holds an idempotency claim (the middleware put an IdemSlot in its
// context), Reply stores the answer in that same transaction, so a write that
// commits always has its answer committed with it, and a write that rolls
// back (or loses its claim to a retry after the lease) stores nothing. The
// adapters (Handle, the gateway's and the wallet's) send the committed
// answer; an error after the commit (a failing read, a client that went away)
// no longer changes what the client — or its retry — is told.

// IsWrite reports whether method writes (POST, PUT, PATCH, DELETE): those
// requests accept an Idempotency-Key and answer under the write contract.
func IsWrite(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// Recorder stores an idempotent answer in tx; the idempotency middleware
// provides it. It fails when the claim was lost (the lease expired and a retry
// took the key), which rolls the handler's transaction back.
type Recorder func(ctx context.Context, tx *store.Tx, status int, contentType string, body []byte) error

// IdemSlot is the per-request idempotency state shared by the middleware,
// Reply and the adapters.
type IdemSlot struct {
	record Recorder
	log    *slog.Logger

	mu      sync.Mutex
	reply   *Response // the answer committed by the handler's transaction
	commits int       // transactions the handler committed
}

// Response is a rendered answer.
type Response struct {
	Status      int
	ContentType string
	Body        []byte
}

type slotKey struct{}

// WithIdemSlot returns ctx carrying a slot whose answers are stored by record
// (nil: the request holds no claim; Reply only renders). log receives errors
// that happen after the write committed.
func WithIdemSlot(ctx context.Context, record Recorder, log *slog.Logger) (context.Context, *IdemSlot) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &IdemSlot{record: record, log: log}
	ctx = store.WatchCommits(ctx, func() {
		s.mu.Lock()
		s.commits++
		s.mu.Unlock()
	})
	return context.WithValue(ctx, slotKey{}, s), s
}

// WithoutAnswer returns ctx under which Reply records and answers nothing:
// for a write of another service made on the way (a wallet login or logout
// inside a cashier deposit), whose answer is not the request's.
func WithoutAnswer(ctx context.Context) context.Context {
	return context.WithValue(ctx, slotKey{}, (*IdemSlot)(nil))
}

func slotFrom(ctx context.Context) *IdemSlot {
	s, _ := ctx.Value(slotKey{}).(*IdemSlot)
	return s
}

// Committed returns the answer committed with the handler's effects, if any.
func (s *IdemSlot) Committed() (Response, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reply == nil {
		return Response{}, false
	}
	return *s.reply, true
}

// Unanswered reports whether the handler committed a transaction but no
// answer with it: for a successful answer that may be replayed, that breaks
// the write contract (a crash after the commit would lose the answer, and a
// retry would run the write again).
func (s *IdemSlot) Unanswered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commits > 0 && s.reply == nil
}

// Reply renders v as the JSON answer with status inside tx (call it as the
// last step of the handler's Transact callback, with the callback's ctx) and,
// when the request holds an idempotency claim, stores it in tx. The adapter
// sends exactly these bytes once tx has committed.
func Reply(ctx context.Context, tx *store.Tx, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("httpx: render reply: %w", err)
	}
	return ReplyRaw(ctx, tx, Response{Status: status, ContentType: "application/json", Body: append(b, '\n')})
}

// ReplyRaw is Reply for an answer already rendered.
func ReplyRaw(ctx context.Context, tx *store.Tx, resp Response) error {
	if err := runAnswerHook(ctx, tx); err != nil {
		return err
	}
	s := slotFrom(ctx)
	if s == nil {
		return nil // not an HTTP request (CLI, job): nothing to record
	}
	if s.record != nil {
		if err := s.record(ctx, tx, resp.Status, resp.ContentType, resp.Body); err != nil {
			return err
		}
	}
	tx.OnCommit(func() {
		s.mu.Lock()
		s.reply = &resp
		s.mu.Unlock()
	})
	return nil
}

// Respond writes the outcome of a write handler: the answer committed with its
// effects when there is one (even if err reports a failure after the commit,
// which is logged), else err through errw, else v as JSON with status.
func Respond(w http.ResponseWriter, r *http.Request, errw ErrorWriter, status int, v any, err error) {
	if s := slotFrom(r.Context()); s != nil {
		if resp, ok := s.Committed(); ok {
			if err != nil {
				s.log.ErrorContext(r.Context(), "error after the write committed; its committed answer is sent", "method", r.Method, "path", r.URL.Path, "err", err)
			}
			WriteResponse(w, resp)
			return
		}
	}
	if err != nil {
		errw(w, r, err)
		return
	}
	WriteJSON(w, status, v)
}

// WriteResponse writes a rendered answer.
func WriteResponse(w http.ResponseWriter, resp Response) {
	if resp.ContentType != "" {
		w.Header().Set("Content-Type", resp.ContentType)
	}
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}

// Answering and Answer let a service whose transaction lives below the
// handler answer from inside it without knowing HTTP: the handler passes
// Answering's context to the service, which calls Answer(ctx, tx, result)
// as its transaction's last step; render turns the result into the
// response, which Reply records with the effects and *out receives.
type answerKey struct{}

type answerFunc func(ctx context.Context, tx *store.Tx, result any) error

// Answering returns ctx carrying render for the results of type T.
func Answering[T, Resp any](ctx context.Context, status int, out *Resp, render func(ctx context.Context, v T) (Resp, error)) context.Context {
	return context.WithValue(ctx, answerKey{}, answerFunc(func(ctx context.Context, tx *store.Tx, result any) error {
		v, ok := result.(T)
		if !ok {
			return fmt.Errorf("httpx: answer of type %T, want %T", result, v)
		}
		resp, err := render(ctx, v)
		if err != nil {
			return err
		}
		*out = resp
		return Reply(ctx, tx, status, resp)
	}))
}

// Answer renders and records result with the handler's Answering render,
// if any (calls from the CLI or jobs have none).
func Answer(ctx context.Context, tx *store.Tx, result any) error {
	if f, ok := ctx.Value(answerKey{}).(answerFunc); ok {
		return f(ctx, tx, result) // Reply runs the answer hook
	}
	return runAnswerHook(ctx, tx)
}

// WithAnswerHook returns ctx under which a write that answers from inside
// its transaction (Answer or Reply, the write contract above) also runs
// hook in that transaction, just before its answer: the back office writes
// the audit row of an action with the action's effects, through the very
// service method the API calls. hook runs once per attempt of the
// transaction (a retried one runs it again on its new Tx); an error from it
// rolls the write back.
func WithAnswerHook(ctx context.Context, hook func(ctx context.Context, tx *store.Tx) error) context.Context {
	return context.WithValue(ctx, hookKey{}, hook)
}

type hookKey struct{}

func runAnswerHook(ctx context.Context, tx *store.Tx) error {
	if h, ok := ctx.Value(hookKey{}).(func(ctx context.Context, tx *store.Tx) error); ok {
		return h(ctx, tx)
	}
	return nil
}
