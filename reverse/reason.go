package reverse

// Reason words an error of the Tree for a log line without any plaintext
// (see reason), for the adapters of the view outside this package: the
// HTTPS server of efs serve.
func Reason(err error) string { return reason(err) }

// shortPath is "/"+viewPath for a log line, cut to its first 256 bytes: a
// path too long to be shown is not worth 4 KiB of log.
func shortPath(viewPath string) string {
	const max = 256
	if len(viewPath) > max {
		return "/" + viewPath[:max] + "..."
	}
	return "/" + viewPath
}
