package plainhttp

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"
)

// StatusText is the reason phrase of the statuses Vértice's components
// send or meet, else "".
func StatusText(code int) string {
	return statusText[code]
}

var statusText = map[int]string{
	200: "OK", 201: "Created", 204: "No Content",
	301: "Moved Permanently", 302: "Found", 304: "Not Modified",
	400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
	405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict", 413: "Content Too Large",
	422: "Unprocessable Content", 429: "Too Many Requests",
	500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
}

// Healthcheck GETs url and returns the process exit code: 0 when it answers
// 200 with a body that does not say "unhealthy", else 1, with the reason on
// errOut. Scratch images have no curl, so each binary probes itself with
// -healthcheck.
func Healthcheck(rawURL string, errOut io.Writer) int {
	u, err := ParseURL(rawURL)
	if err != nil {
		fmt.Fprintln(errOut, "healthcheck:", err)
		return 1
	}
	c := Client{Timeout: 3 * time.Second, MaxBody: 4096}
	resp, err := c.Do(context.Background(), Request{Method: "GET", URL: u})
	if err != nil {
		fmt.Fprintf(errOut, "healthcheck: GET %s: %v\n", rawURL, err)
		return 1
	}
	if resp.Status != 200 || bytes.Contains(resp.Body, []byte(`"unhealthy"`)) {
		fmt.Fprintf(errOut, "healthcheck: %s answered %d %s\n", rawURL, resp.Status, resp.Body)
		return 1
	}
	return 0
}
