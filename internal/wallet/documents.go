package wallet

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"image"
	_ "image/jpeg" // image.DecodeConfig of a JPEG document
	_ "image/png"  // and of a PNG one
	"net/http"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
)

// The documents of a Corporate+ upgrade (seed 000's FAQ: "Trade Register
// Extract, Business Registration, Bank Statement, Official ID cards of
// directors/owners and/or beneficial owner, proof of address…"). A file is
// kept in the database with the type its bytes show: PDF, PNG or JPEG
// only, MaxDocumentBytes at most, MaxDocuments per request. A file whose
// name or declared type says another type than its bytes is refused.

// MaxDocumentBytes bounds one document.
const MaxDocumentBytes = 5 << 20

// MaxDocuments bounds the documents of one upgrade request (those sent and
// those waiting to be sent).
const MaxDocuments = 10

// LimitDocuments names the refusal of a document past MaxDocuments.
const LimitDocuments = "documents_per_request"

// DocumentKind is a kind of document the issuer asks for.
type DocumentKind struct {
	Name  string `json:"name"`
	Label string `json:"label"`
}

// DocumentKinds are the kinds a corporate uploads, the FAQ's list.
func DocumentKinds() []DocumentKind {
	return []DocumentKind{
		{"trade_register_extract", "Trade register extract"},
		{"business_registration", "Business registration"},
		{"bank_statement", "Bank statement"},
		{"id_card", "Official ID card of a director, owner or beneficial owner"},
		{"proof_of_address", "Proof of address of a director, owner or beneficial owner"},
		{"other", "Other document (asked for by customer service)"},
	}
}

func documentKindLabel(name string) (string, bool) {
	for _, k := range DocumentKinds() {
		if k.Name == name {
			return k.Label, true
		}
	}
	return "", false
}

// DocumentUpload is one file sent for the upgrade.
type DocumentUpload struct {
	Kind     string // one of DocumentKinds
	Filename string // the file's name as sent (its extension must fit its bytes)
	// ContentType is the type the sender declared ("" or
	// application/octet-stream: none); it must fit the bytes.
	ContentType string
	Data        []byte
}

// Document is a stored document (without its bytes).
type Document struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	KindLabel   string    `json:"kindLabel"`
	Filename    string    `json:"filename"`
	ContentType string    `json:"contentType"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	Sent        bool      `json:"sent"` // sent with a request (else waiting to be sent)
	CreatedAt   time.Time `json:"createdAt"`
}

// documentTypes are the accepted types by file extension.
var documentTypes = map[string]string{".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}

// checkDocument validates an upload and returns its cleaned file name and
// the content type its bytes show.
func checkDocument(up DocumentUpload) (name, ctype string, err error) {
	if _, ok := documentKindLabel(up.Kind); !ok {
		return "", "", apperr.InvalidField("kind", "choose a document kind: trade_register_extract, business_registration, bank_statement, id_card, proof_of_address or other")
	}
	if name, err = documentName(up.Filename); err != nil {
		return "", "", err
	}
	switch n := len(up.Data); {
	case n == 0:
		return "", "", apperr.InvalidField("file", "the file is empty")
	case n > MaxDocumentBytes:
		return "", "", &apperr.Error{Code: apperr.TooLarge, Field: "file", Message: "the file is larger than 5 MiB"}
	}
	ctype = http.DetectContentType(up.Data)
	if !allowedDocument(ctype) {
		return "", "", &apperr.Error{Code: apperr.UnsupportedMedia, Field: "file", Message: "only PDF, PNG and JPEG documents are accepted"}
	}
	if want := documentTypes[strings.ToLower(path.Ext(name))]; want != ctype {
		return "", "", &apperr.Error{Code: apperr.UnsupportedMedia, Field: "file",
			Message: "the file's name says " + typeWord(want) + " but its content is " + typeWord(ctype)}
	}
	if d := declaredType(up.ContentType); d != "" && d != ctype {
		return "", "", &apperr.Error{Code: apperr.UnsupportedMedia, Field: "file",
			Message: "the file was sent as " + d + " but its content is " + typeWord(ctype)}
	}
	if !wellFormed(ctype, up.Data) {
		return "", "", &apperr.Error{Code: apperr.UnsupportedMedia, Field: "file", Message: "the file is not a complete " + typeWord(ctype) + " document"}
	}
	return name, ctype, nil
}

func allowedDocument(ctype string) bool {
	return ctype == "application/pdf" || ctype == "image/png" || ctype == "image/jpeg"
}

// declaredType is a declared Content-Type without parameters ("" when it
// declares nothing).
func declaredType(ct string) string {
	ct = strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
	if ct == "application/octet-stream" {
		return ""
	}
	return ct
}

func typeWord(ctype string) string {
	switch ctype {
	case "application/pdf":
		return "a PDF"
	case "image/png":
		return "a PNG image"
	case "image/jpeg":
		return "a JPEG image"
	case "":
		return "no accepted type (.pdf, .png, .jpg)"
	}
	return strings.SplitN(ctype, ";", 2)[0]
}

// wellFormed checks more than the first bytes: an image's header decodes,
// a PDF ends with its end-of-file marker.
func wellFormed(ctype string, b []byte) bool {
	if ctype == "application/pdf" {
		tail := b[max(0, len(b)-1024):]
		return bytes.Contains(tail, []byte("%%EOF"))
	}
	_, _, err := image.DecodeConfig(bytes.NewReader(b))
	return err == nil
}

// documentName is the base name of a sent file name, without a path.
func documentName(raw string) (string, error) {
	if err := httpx.CheckText("filename", raw); err != nil {
		return "", err
	}
	name := path.Base(strings.ReplaceAll(strings.TrimSpace(raw), `\`, "/"))
	if name == "." || name == "/" || name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > 120 {
		return "", apperr.InvalidField("filename", "the file needs a name of at most 120 characters, such as statement.pdf")
	}
	return name, nil
}

func digest(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
