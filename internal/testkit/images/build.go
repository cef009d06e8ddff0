package images

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/vertice/vertice/internal/testkit/debian"
)

// redisDockerfile puts the rootfs in an empty image. No pull is needed for
// FROM scratch. CMD matches what tests pass anyway; --protected-mode no
// because clients arrive through Docker's port mapping, not loopback.
const redisDockerfile = `FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin
WORKDIR /data
EXPOSE 6379 26379
CMD ["redis-server", "--protected-mode", "no"]
`

// buildRedis copies Debian's redis-server (and redis-cli, for compose
// healthchecks) with every shared library they load, plus busybox as
// /bin/sh so compose files can write Sentinel's config as they do with
// the upstream image, and builds a FROM scratch image of it.
func buildRedis(ctx context.Context, log io.Writer) error {
	server, err := debian.Find(ctx, log, "redis-server", "redis-server", "redis-tools")
	if err != nil {
		return fmt.Errorf("%w (%v)", errNoRedisBinary, err)
	}
	img := scratchImage{
		tag:        Redis,
		dockerfile: redisDockerfile,
		bins:       map[string]string{server: RedisServerPath},
		dirs:       []string{DataDir, "/tmp"},
	}
	if cli, err := exec.LookPath("redis-cli"); err == nil {
		img.bins[cli] = RedisCLIPath
	}
	if err := img.addShell(ctx, log); err != nil {
		return err
	}
	fmt.Fprintf(log, "images: docker build -t %s (redis-server from %s)\n", Redis, server)
	return img.build(ctx, log)
}

// scratchImage is a FROM scratch image assembled from host binaries.
type scratchImage struct {
	tag        string
	dockerfile string
	bins       map[string]string // dynamically linked: host path → image path, libraries follow
	static     map[string]string // statically linked: copied alone
	dirs       []string          // world-writable directories (any user may run it)
	files      map[string]string // image path → content
}

// addShell puts Debian's static busybox at /bin/sh.
func (img *scratchImage) addShell(ctx context.Context, log io.Writer) error {
	busybox, err := debian.Find(ctx, log, "busybox", "busybox-static")
	if err != nil {
		return err
	}
	if img.static == nil {
		img.static = map[string]string{}
	}
	img.static[busybox] = "/bin/sh"
	return nil
}

func (img scratchImage) build(ctx context.Context, log io.Writer) error {
	dir, err := os.MkdirTemp("", "vertice-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	rootfs := filepath.Join(dir, "rootfs")
	if err := img.fill(ctx, rootfs); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(img.dockerfile), 0o644); err != nil {
		return err
	}
	return run(ctx, log, "docker", "build", "-t", img.tag, dir)
}

func (img scratchImage) fill(ctx context.Context, rootfs string) error {
	for src, dst := range img.bins {
		if err := addBinary(ctx, rootfs, src, dst); err != nil {
			return err
		}
	}
	for src, dst := range img.static {
		if err := copyFile(src, filepath.Join(rootfs, dst), 0o755); err != nil {
			return err
		}
	}
	for _, d := range img.dirs {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o777); err != nil {
			return err
		}
		// MkdirAll honours the umask; the server may run as any user.
		if err := os.Chmod(filepath.Join(rootfs, d), 0o777|os.ModeSticky); err != nil {
			return err
		}
	}
	for path, content := range img.files {
		full := filepath.Join(rootfs, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// addBinary copies src to rootfs/dst, following symlinks: Debian's
// redis-server is a symlink to redis-check-rdb, which picks its mode from
// its own file name, so it must land under the name redis-server. Then it
// copies every library ldd lists, at the same path.
func addBinary(ctx context.Context, rootfs, src, dst string) error {
	if err := copyFile(src, filepath.Join(rootfs, dst), 0o755); err != nil {
		return err
	}
	libs, err := sharedLibs(ctx, src)
	if err != nil {
		return err
	}
	for _, lib := range libs {
		if err := copyFile(lib, filepath.Join(rootfs, lib), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// sharedLibs runs ldd and returns the absolute paths it prints, including
// the dynamic loader. Lines without a path (linux-vdso) are skipped.
func sharedLibs(ctx context.Context, binary string) ([]string, error) {
	out, err := exec.CommandContext(ctx, "ldd", binary).Output()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w", binary, err)
	}
	return parseLdd(string(out)), nil
}

// parseLdd reads lines like
//
//	libm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x...)
//	/lib64/ld-linux-x86-64.so.2 (0x...)
func parseLdd(out string) []string {
	var libs []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if _, after, ok := strings.Cut(line, "=>"); ok {
			line = strings.TrimSpace(after)
		}
		path, _, _ := strings.Cut(line, " ")
		if strings.HasPrefix(path, "/") {
			libs = append(libs, path)
		}
	}
	return libs
}

// copyFile copies the content of src (symlinks followed, like cp -L) to dst.
func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
