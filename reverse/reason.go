package reverse

// Reason words an error of the Tree for a log line without any plaintext
// (see reason), for the adapters of the view outside this package: the
// HTTPS server of efs serve.
func Reason(err error) string { return reason(err) }
