package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/cashgate/cashgate/internal/httpx"
)

var pathParam = regexp.MustCompile(`\{([a-zA-Z0-9_]+)\.{0,3}\}`)

// OpenAPI generates the OpenAPI 3.1 document of the routes: one operation
// per route, JSON schemas derived from the request and response types, the
// security scheme of each API. Because the server mounts exactly these routes,
// the document covers every route.
func OpenAPI(routes []httpx.Route, version string) ([]byte, error) {
	reg := huma.NewMapRegistry("#/components/schemas/", schemaName)
	doc := &huma.OpenAPI{
		OpenAPI: "3.1.0",
		Info: &huma.Info{
			Title:       "cashgate",
			Version:     version,
			Description: "Self-hosted payment platform: platform/APP keys (seed 001), card gateway (003), e-wallet (000), remote payments (004), cashier (002).",
		},
		// Relative: the document is served by the installation it describes.
		Servers: []*huma.Server{{URL: "/", Description: "this cashgate installation"}},
		Components: &huma.Components{
			Schemas:         reg,
			SecuritySchemes: securitySchemes(),
		},
	}
	seen := map[string]bool{}
	for _, rt := range routes {
		key := rt.Method + " " + rt.Path
		if seen[key] {
			return nil, fmt.Errorf("duplicate route %s", key)
		}
		seen[key] = true
		op := &huma.Operation{
			Method:      rt.Method,
			Path:        rt.Path,
			OperationID: operationID(rt),
			Summary:     rt.Summary,
			Tags:        []string{string(rt.API)},
			Responses:   map[string]*huma.Response{},
		}
		for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
			op.Parameters = append(op.Parameters, &huma.Param{Name: m[1], In: "path", Required: true, Schema: &huma.Schema{Type: "string"}})
		}
		for _, q := range rt.Query {
			op.Parameters = append(op.Parameters, &huma.Param{Name: q, In: "query", Schema: &huma.Schema{Type: "string"}})
		}
		if httpx.IsWrite(rt.Method) {
			op.Parameters = append(op.Parameters, &huma.Param{Name: "Idempotency-Key", In: "header",
				Description: "Replays the first response for the same key and body; refuses the same key with another body.",
				Schema:      &huma.Schema{Type: "string", MaxLength: intPtr(255)}})
		}
		op.Security = security(rt.API)
		if rt.Request != nil {
			op.RequestBody = &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{
				"application/json": {Schema: reg.Schema(reflect.TypeOf(rt.Request), true, ""), Example: Example(reflect.TypeOf(rt.Request))},
			}}
		}
		if len(rt.RequestMedia) > 0 {
			op.RequestBody = mediaBody(rt.RequestMedia)
		}
		if len(rt.RawBody) > 0 { // the body is a file itself
			op.RequestBody = &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{}}
			for _, mt := range rt.RawBody {
				op.RequestBody.Content[mt] = &huma.MediaType{Schema: &huma.Schema{Type: "string", Format: "binary"}}
			}
		}
		status := rt.Status
		if status == 0 {
			status = http.StatusOK
		}
		resp := &huma.Response{Description: http.StatusText(status)}
		if rt.Response != nil {
			resp.Content = map[string]*huma.MediaType{
				"application/json": {Schema: reg.Schema(reflect.TypeOf(rt.Response), true, "")},
			}
		}
		op.Responses[strconv.Itoa(status)] = resp
		op.Responses["default"] = errorResponse(reg, rt.API)
		doc.AddOperation(op)
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// mediaBody documents a body that is not JSON: a file as is, or a
// multipart form whose "file" part is the file (its other fields are the
// operation's query parameters).
func mediaBody(types []string) *huma.RequestBody {
	rb := &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{}}
	for _, t := range types {
		file := &huma.Schema{Type: "string", Format: "binary"}
		var example any = fileExample(t)
		if t == "multipart/form-data" {
			file = &huma.Schema{Type: "object", Required: []string{"file"}, Properties: map[string]*huma.Schema{"file": file}}
			example = map[string]string{"file": fileExample("text/csv")}
		}
		rb.Content[t] = &huma.MediaType{Schema: file, Example: example}
	}
	return rb
}

// fileExample is an example file of a media type.
func fileExample(mediaType string) string {
	if mediaType == "text/csv" || mediaType == "multipart/form-data" {
		return "username,amount,description,reference\nalice,12.50,Invoice 118,INV-118\n"
	}
	return "…"
}

// securitySchemes are every API's ways of authenticating.
func securitySchemes() map[string]*huma.SecurityScheme {
	return map[string]*huma.SecurityScheme{
		"apiKey": {Type: "apiKey", In: "header", Name: "api-key", Description: "APP key (seed 001)"},
		"bearer": {Type: "http", Scheme: "bearer", BearerFormat: "JWT",
			Description: "Access token from POST /auth/oauth/token, sent together with the api-key header of its APP key (never alone: seed 001's api-key is always required)"},
		"gatewayConfigurationId": {Type: "apiKey", In: "header", Name: "ConfigurationId",
			Description: "Card gateway (seed 003): the configuration id; sent with Hash"},
		"gatewayHash": {Type: "apiKey", In: "header", Name: "Hash",
			Description: "Card gateway (seed 003): hex SHA-512 of the signing key followed by the request body (of the key alone for a GET)"},
		"walletToken": {Type: "http", Scheme: "bearer",
			Description: "E-wallet (seed 000): a merchant token merchantId.salt.signature, a wallet session token cgw_…, or a widget token cgwt_….… (the widget frame's /wallet/widget/v1/… only)"},
		"walletSession": {Type: "apiKey", In: "cookie", Name: "cg_wallet", Description: "E-wallet app session (the wallet's own pages)"},
	}
}

// security is the security requirement of an API's operations ([{}] for
// public ones: none needed).
func security(api httpx.API) []map[string][]string {
	switch api {
	case httpx.APIPlatform, httpx.APIRemote, httpx.APICashier:
		// The APP key alone, or the key with one of its access tokens.
		return []map[string][]string{{"apiKey": {}}, {"apiKey": {}, "bearer": {}}}
	case httpx.APIGateway:
		return []map[string][]string{{"gatewayConfigurationId": {}, "gatewayHash": {}}}
	case httpx.APIWallet:
		return []map[string][]string{{"walletToken": {}}, {"walletSession": {}}}
	}
	return []map[string][]string{{}} // no authentication
}

// errorResponse is the error body of an API, in that API's format.
func errorResponse(reg huma.Registry, api httpx.API) *huma.Response {
	var body any
	desc := "Error"
	switch api {
	case httpx.APIPlatform, httpx.APIRemote, httpx.APICashier:
		body, desc = httpx.PlatformError{}, `Error: {"error": "message"} (seed 001 format)`
	case httpx.APIGateway:
		body, desc = httpx.GatewayErrorReport{}, "Error: the card gateway's errorReport (seed 003 format)"
	case httpx.APIWallet:
		body, desc = httpx.WalletError{}, "Error: {\"error\": {\"code\", \"message\", \"field\"}} (the e-wallet's format)"
	default:
		return &huma.Response{Description: desc}
	}
	return &huma.Response{Description: desc, Content: map[string]*huma.MediaType{
		"application/json": {Schema: reg.Schema(reflect.TypeOf(body), true, "")},
	}}
}

func operationID(rt httpx.Route) string {
	parts := []string{strings.ToLower(rt.Method)}
	for _, seg := range strings.Split(strings.Trim(rt.Path, "/"), "/") {
		seg = strings.Trim(seg, "{}.")
		if seg != "" {
			parts = append(parts, seg)
		}
	}
	return strings.Join(parts, "-")
}

func intPtr(i int) *int { return &i }

// schemaName names a schema after its package and type ("LedgerAccountJSON",
// "GatewayRefundRequest"), so two products may use the same type name.
func schemaName(t reflect.Type, hint string) string {
	name := huma.DefaultSchemaNamer(t, hint)
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	pkg := path.Base(t.PkgPath())
	if pkg == "." || pkg == "" || t.Name() == "" {
		return name
	}
	pkg = strings.ToUpper(pkg[:1]) + pkg[1:]
	if strings.HasPrefix(name, pkg) {
		return name
	}
	return pkg + name
}

// RouteList returns "METHOD PATH API" lines sorted, for the golden route list.
func RouteList(routes []httpx.Route) []string {
	out := make([]string, 0, len(routes))
	for _, rt := range routes {
		out = append(out, fmt.Sprintf("%-6s %-55s %s", rt.Method, rt.Path, rt.API))
	}
	sort.Strings(out)
	return out
}
