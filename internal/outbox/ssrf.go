package outbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
)

// The SSRF guard. A tenant chooses where cashgate sends HTTP requests, so
// unless the installation explicitly allows it (WebhookOptions.
// AllowPrivateTargets), webhook URLs must be http(s) and reach only public
// internet addresses: not loopback, private (RFC 1918, fc00::/7), shared
// (100.64.0.0/10, used for cloud metadata too), link-local (169.254.0.0/16,
// fe80::/10), unspecified (0.0.0.0/8, ::), broadcast or multicast. The URL
// is checked when an endpoint is created or changed, and every connection a
// delivery makes is checked again on the address actually dialled (through
// net.Dialer.Control), so a host name that later resolves elsewhere (DNS
// rebinding) cannot get through.

// Resolver looks up a host's addresses; *net.Resolver satisfies it.
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// maxURLLength bounds endpoint URLs.
const maxURLLength = 2048

var (
	sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")
	thisNetwork        = netip.MustParsePrefix("0.0.0.0/8")
	broadcast          = netip.MustParseAddr("255.255.255.255")
)

// blockedReason says why ip is not a public address, or "" when it is.
func blockedReason(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	switch {
	case !ip.IsValid():
		return "not a valid address"
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsPrivate():
		return "a private address"
	case sharedAddressSpace.Contains(ip):
		return "a shared (carrier-grade NAT) address"
	case ip.IsMulticast():
		return "a multicast address"
	case ip.IsLinkLocalUnicast():
		return "a link-local address"
	case ip.IsUnspecified(), thisNetwork.Contains(ip):
		return "an unspecified address"
	case ip == broadcast:
		return "a broadcast address"
	}
	return ""
}

// CheckURL refuses a URL that endpoints and callbacks may not target (not
// http/https, credentials, or a loopback/private/link-local/… host unless
// AllowPrivateTargets) with apperr.Invalid. Products check callback URLs with
// it when a merchant hands one in, so a bad URL is refused at once rather
// than when the first notification is due.
func (w *Webhooks) CheckURL(ctx context.Context, raw string) error {
	_, err := w.checkURL(ctx, raw)
	return err
}

// checkURL validates an endpoint URL and returns it normalised.
func (w *Webhooks) checkURL(ctx context.Context, raw string) (string, error) {
	bad := func(format string, args ...any) error { return apperr.InvalidField("url", format, args...) }
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", bad("url is required")
	}
	if len(raw) > maxURLLength {
		return "", bad("url must be at most %d characters", maxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", bad("url is not a valid URL")
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", bad("webhook URL must use http or https, not %q", u.Scheme)
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "" {
		return "", bad("webhook URL has no host")
	}
	if w.opt.AllowPrivateTargets {
		return u.String(), nil
	}
	refuse := func(addr netip.Addr, why string) error {
		if addr.String() == host {
			return bad("webhook URL host %s is %s; only public internet addresses are allowed", host, why)
		}
		return bad("webhook URL host %s resolves to %s, %s; only public internet addresses are allowed", host, addr, why)
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return "", bad("webhook URL host %s is a loopback address; only public internet addresses are allowed", host)
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if why := blockedReason(addr); why != "" {
			return "", refuse(addr, why)
		}
		return u.String(), nil
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := w.opt.Resolver.LookupIPAddr(lctx, host)
	if err != nil || len(addrs) == 0 {
		return "", bad("webhook URL host %s does not resolve to an address", host)
	}
	for _, a := range addrs {
		addr, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			return "", bad("webhook URL host %s resolves to an unusable address", host)
		}
		if why := blockedReason(addr); why != "" {
			return "", refuse(addr.Unmap(), why)
		}
	}
	return u.String(), nil
}

// Client is the HTTP client deliveries use (no redirects; unless private
// targets are allowed, it dials only public addresses): for products that
// call a merchant's URL synchronously, under the same SSRF rules.
func (w *Webhooks) Client() *http.Client { return w.client }

// errTargetRefused marks a connection refused by the SSRF guard.
var errTargetRefused = errors.New("refused by the SSRF guard")

// guardDial is a net.Dialer.Control that refuses non-public remote addresses.
func guardDial(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook target %q: %w", address, errTargetRefused)
	}
	if why := blockedReason(ap.Addr()); why != "" {
		return fmt.Errorf("webhook target address %s is %s: %w", ap.Addr().Unmap(), why, errTargetRefused)
	}
	return nil
}

// deliveryClient returns the HTTP client deliveries use: base (or a default
// client) that never follows redirects and, unless private targets are
// allowed, dials only through the guard and never through a proxy (a proxy
// would hide the real target from the guard).
func deliveryClient(base *http.Client, allowPrivate bool) (*http.Client, error) {
	c := &http.Client{}
	if base != nil {
		*c = *base
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	var t *http.Transport
	switch rt := c.Transport.(type) {
	case nil:
		t = http.DefaultTransport.(*http.Transport).Clone()
	case *http.Transport:
		t = rt.Clone()
	default:
		if allowPrivate {
			return c, nil
		}
		return nil, errors.New("outbox: WebhookOptions.Client must use an *http.Transport so the SSRF guard can check every address it dials (or set AllowPrivateTargets)")
	}
	if !allowPrivate {
		d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: guardDial}
		t.DialContext = d.DialContext
		t.DialTLSContext = nil
		//lint:ignore SA1019 a cloned transport's deprecated DialTLS would still be used (DialTLSContext is nil) and bypass the guard
		t.DialTLS = nil
		t.Proxy = nil
	}
	c.Transport = t
	return c, nil
}
