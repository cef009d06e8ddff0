package images

import (
	"github.com/vertice/vertice/internal/testkit/debian"

	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Alertmanager image. Compose names it through ALERTMANAGER_IMAGE with the
// upstream image as default; the upstream tag is the version Debian ships
// (0.25), so monitoring/alertmanager is checked against the same one.
const (
	Alertmanager         = "vertice/alertmanager:local"
	AlertmanagerUpstream = "prom/alertmanager:v0.25.0"
	AlertmanagerImageEnv = "ALERTMANAGER_IMAGE"
)

// EnsureAlertmanager returns an Alertmanager image: $ALERTMANAGER_IMAGE, a
// pulled prom/alertmanager, or Debian's prometheus-alertmanager in a FROM
// scratch image laid out like the upstream one.
func EnsureAlertmanager(ctx context.Context, opts ...Option) (string, error) {
	return ensure(ctx, thirdParty{env: AlertmanagerImageEnv, local: Alertmanager, upstream: AlertmanagerUpstream,
		build: buildAlertmanager}, opts)
}

// The upstream image's entrypoint, command and paths. It has a busybox
// shell, and so does this one: monitoring/alertmanager/entrypoint.sh runs
// in both.
const alertmanagerDockerfile = `FROM scratch
COPY rootfs/ /
ENV PATH=/bin:/usr/bin
USER 65534:65534
EXPOSE 9093
WORKDIR /alertmanager
ENTRYPOINT ["/bin/alertmanager"]
CMD ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"]
`

// alertmanagerDefaultConf lets the image start without a mounted config,
// as the upstream one does: every alert goes to a receiver that sends
// nothing.
const alertmanagerDefaultConf = `route:
  receiver: default
receivers:
  - name: default
`

// Debian's Alertmanager reads its notification templates (default.tmpl,
// email.tmpl) and its UI from this folder at run time, not from the binary.
const debianAlertmanagerShare = "/usr/share/prometheus/alertmanager"

// caBundle lets notifications reach Slack and mail relays over TLS.
const caBundle = "/etc/ssl/certs/ca-certificates.crt"

func buildAlertmanager(ctx context.Context, log io.Writer) error {
	bin, err := debian.Find(ctx, log, "prometheus-alertmanager", "prometheus-alertmanager")
	if err != nil {
		return err
	}
	img := scratchImage{
		tag:        Alertmanager,
		dockerfile: alertmanagerDockerfile,
		bins:       map[string]string{bin: "/bin/alertmanager"},
		dirs:       []string{"/alertmanager", "/run/alertmanager", "/tmp"},
		files: map[string]string{
			"/etc/passwd":                        etcPasswd,
			"/etc/group":                         etcGroup,
			"/etc/alertmanager/alertmanager.yml": alertmanagerDefaultConf,
		},
	}
	if err := img.addShell(ctx, log); err != nil {
		return err
	}
	if err := addTree(img.files, debianAlertmanagerShare); err != nil {
		return fmt.Errorf("%s (from Debian's prometheus-alertmanager): %w", debianAlertmanagerShare, err)
	}
	if b, err := os.ReadFile(caBundle); err == nil {
		img.files[caBundle] = string(b)
	} else {
		fmt.Fprintf(log, "images: %s missing (%v): notifications over TLS will fail; apt-get install ca-certificates\n", caBundle, err)
	}
	fmt.Fprintf(log, "images: docker build -t %s (alertmanager from %s)\n", Alertmanager, bin)
	return img.build(ctx, log)
}

// addTree adds every regular file under dir to files, at the same path.
func addTree(files map[string]string, dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files[path] = string(b)
		return nil
	})
}
