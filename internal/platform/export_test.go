package platform

// RequestHashForTest exposes the idempotency request hash to the external tests.
func RequestHashForTest(method, target string, body []byte) string {
	return requestHash(method, target, body)
}
