package webkit

import (
	"errors"
	"fmt"
	"net/http"
)

// ProtectUpload is Protect for a multipart form with files (an upload
// page): the same cross-site and CSRF checks, the body bounded by limit
// (a bigger one gets 413 with a page saying so) and parsed, the files
// reachable through r.FormFile and removed after the handler.
func (k *Kit) ProtectUpload(limit int64, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := k.cop.Check(r); err != nil {
			k.Error(w, r, http.StatusForbidden, "This form was sent from another site, so it was refused. Open the page here and send it again.")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if err := r.ParseMultipartForm(limit); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				k.Error(w, r, http.StatusRequestEntityTooLarge, "The upload is larger than "+sizeLimit(limit)+"; send a smaller file.")
				return
			}
			k.Error(w, r, http.StatusBadRequest, "The form could not be read; go back and try again.")
			return
		}
		defer func() { _ = r.MultipartForm.RemoveAll() }()
		if !k.checkCSRF(r) {
			k.Error(w, r, http.StatusForbidden, "This form has expired or did not come from this site. Go back, reload the page and send it again.")
			return
		}
		next(w, withForm(r, refuseControls(r.PostForm)))
	}
}

// sizeLimit says a byte count in MiB (KiB under one).
func sizeLimit(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}
