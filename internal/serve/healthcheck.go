package serve

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// Healthcheck GETs url and returns the process exit code: 0 when it answers
// 200 with a body that does not say "unhealthy", else 1, with the reason on
// stderr. Scratch images have no curl, so each binary probes itself with
// -healthcheck.
func Healthcheck(url string) int { return healthcheck(url, os.Stderr) }

// healthcheckTimeout is the compose healthchecks' own timeout.
const healthcheckTimeout = 3 * time.Second

func healthcheck(url string, errOut io.Writer) int {
	client := &http.Client{
		Timeout: healthcheckTimeout,
		Transport: &http.Transport{
			Proxy: nil, // the process probes itself on loopback
			// The certificate names the server's public name, not the
			// loopback address dialled here; what is checked is that the
			// process answers, so the certificate is not.
			TLSClientConfig:        &tls.Config{InsecureSkipVerify: true},
			MaxResponseHeaderBytes: 16 << 10,
			DisableKeepAlives:      true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Get(url)
	if err != nil {
		fmt.Fprintf(errOut, "healthcheck: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK || bytes.Contains(body, []byte(`"unhealthy"`)) {
		fmt.Fprintf(errOut, "healthcheck: %s answered %s %s\n", url, resp.Status, bytes.TrimSpace(body))
		return 1
	}
	return 0
}

// withScheme turns LocalURL's http:// into https:// when tls is set.
func withScheme(url string, tls bool) string {
	if tls {
		return "https" + strings.TrimPrefix(url, "http")
	}
	return url
}
