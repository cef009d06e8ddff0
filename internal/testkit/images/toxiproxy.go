package images

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/vertice/vertice/internal/testkit/build"
)

// Toxiproxy image: the server of the github.com/Shopify/toxiproxy/v2
// version go.mod pins, so the image and the client package the chaos tests
// drive it with always match.
const (
	Toxiproxy = "vertice/toxiproxy:local"
	// ToxiproxyImageEnv, when set, names an image to use instead (its
	// entrypoint must be the server, listening on 0.0.0.0:8474).
	ToxiproxyImageEnv = "TOXIPROXY_IMAGE"
	// ToxiproxyAPIPort is where the server's HTTP API listens.
	ToxiproxyAPIPort = "8474/tcp"
	toxiproxyPackage = "github.com/Shopify/toxiproxy/v2/cmd/server"
)

// The server is static, so nothing else goes in the image. It binds the
// API to every interface; proxies listen where the test asks.
const toxiproxyDockerfile = `FROM scratch
COPY toxiproxy /toxiproxy
USER 65534:65534
EXPOSE 8474
ENTRYPOINT ["/toxiproxy"]
CMD ["-host=0.0.0.0"]
`

// EnsureToxiproxy returns a Toxiproxy image present in the local engine:
// $TOXIPROXY_IMAGE if set, else vertice/toxiproxy:local, built on first use
// from the module's own Toxiproxy (CGO_ENABLED=0 go build), never pulled.
// It is cheap when the image exists.
func EnsureToxiproxy(ctx context.Context, opts ...Option) (string, error) {
	opts = append([]Option{WithoutPull()}, opts...)
	return ensure(ctx, thirdParty{env: ToxiproxyImageEnv, local: Toxiproxy, build: buildToxiproxy}, opts)
}

func buildToxiproxy(ctx context.Context, log io.Writer) error {
	root, err := build.RepoRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "vertice-toxiproxy-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintf(log, "images: go build %s\n", toxiproxyPackage)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w",
		"-o", filepath.Join(dir, "toxiproxy"), toxiproxyPackage)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if err := build.Run(log, cmd); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(toxiproxyDockerfile), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(log, "images: docker build -t %s\n", Toxiproxy)
	return run(ctx, log, "docker", "build", "-q", "-t", Toxiproxy, dir)
}
