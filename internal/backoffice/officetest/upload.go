package officetest

import "net/url"

// Upload is PostFiles with one file.
func (b *Browser) Upload(from, path string, form url.Values, file File) Page {
	b.T.Helper()
	return b.PostFiles(from, path, form, file)
}
