package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// benchClient talks to one cashgate as one tenant (its APP key).
type benchClient struct {
	base   string
	key    string
	tenant int // index of the tenant in the run, for the scenarios' per-tenant state
	http   *http.Client
}

// newBenchHTTP is the HTTP client every bench client shares: enough idle
// connections for clients concurrent requests.
func newBenchHTTP(clients int) *http.Client {
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConns: clients * 2, MaxIdleConnsPerHost: clients * 2, IdleConnTimeout: time.Minute},
	}
}

func (c *benchClient) post(ctx context.Context, path string, body any, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, path, bytes.NewReader(b), out)
}

func (c *benchClient) get(ctx context.Context, path string, out any) error {
	return c.do(ctx, http.MethodGet, path, nil, out)
}

// do sends one request with the APP key and decodes a JSON answer into
// out (when not nil); a status of 300 or more is an error.
func (c *benchClient) do(ctx context.Context, method, path string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("api-key", c.key)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(rb))
	}
	if out != nil {
		return json.Unmarshal(rb, out)
	}
	return nil
}

// loadRun is one run of a scenario's op from concurrent clients: bench
// runs it until its context ends, the load tests a fixed number of
// requests per client.
type loadRun struct {
	concurrency int
	perClient   int           // requests per client; 0: until ctx is done
	perRequest  time.Duration // bound on each request; 0: none

	ok, failed atomic.Int64
	firstErr   atomic.Value // string: the first failure
	lat        [][]time.Duration
}

// drive runs the clients until each has made perClient requests or ctx is
// done; each request goes as one of tenants, picked at random. A request
// cut off by the end of ctx is not counted.
func (l *loadRun) drive(ctx context.Context, sc scenario, tenants []*benchClient) {
	l.lat = make([][]time.Duration, l.concurrency)
	var wg sync.WaitGroup
	for w := 0; w < l.concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for n := 0; ctx.Err() == nil && (l.perClient == 0 || n < l.perClient); n++ {
				c := tenants[0]
				if len(tenants) > 1 {
					c = tenants[rng.IntN(len(tenants))]
				}
				t0 := time.Now()
				err := l.op(ctx, sc, c, rng)
				if ctx.Err() != nil && err != nil {
					return // cut off by the end of the run
				}
				l.record(w, time.Since(t0), err)
			}
		}(w)
	}
	wg.Wait()
}

func (l *loadRun) record(w int, d time.Duration, err error) {
	l.lat[w] = append(l.lat[w], d)
	if err != nil {
		l.failed.Add(1)
		l.firstErr.CompareAndSwap(nil, err.Error())
	} else {
		l.ok.Add(1)
	}
}

func (l *loadRun) op(ctx context.Context, sc scenario, c *benchClient, rng *rand.Rand) error {
	if l.perRequest > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, l.perRequest)
		defer cancel()
	}
	return sc.op(ctx, c, rng)
}

// report is the run's counts and latencies after it took elapsed.
func (l *loadRun) report(elapsed time.Duration) benchReport {
	all := slices.Concat(l.lat...)
	slices.Sort(all)
	var r benchReport
	r.Seconds = elapsed.Seconds()
	r.OK, r.Failed = l.ok.Load(), l.failed.Load()
	r.Requests = r.OK + r.Failed
	r.PerSecond = float64(r.OK) / elapsed.Seconds()
	r.P50ms, r.P90ms, r.P99ms = pct(all, 0.50), pct(all, 0.90), pct(all, 0.99)
	if len(all) > 0 {
		r.MaxMs = ms(all[len(all)-1])
	}
	if v, _ := l.firstErr.Load().(string); v != "" {
		r.FirstError = v
	}
	return r
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func pct(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return ms(sorted[int(float64(len(sorted)-1)*p)])
}
