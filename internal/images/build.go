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
// healthchecks) with every shared library they load into a rootfs and
// builds a FROM scratch image of it.
func buildRedis(ctx context.Context, log io.Writer) error {
	server, err := findRedisServer(ctx, log)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "vertice-redis-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	rootfs := filepath.Join(dir, "rootfs")
	bins := map[string]string{server: RedisServerPath}
	if cli, err := exec.LookPath("redis-cli"); err == nil {
		bins[cli] = RedisCLIPath
	}
	for src, dst := range bins {
		if err := addBinary(ctx, rootfs, src, dst); err != nil {
			return err
		}
	}
	for _, d := range []string{DataDir, "/tmp"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o777); err != nil {
			return err
		}
		// MkdirAll honours the umask; Redis may run as any user.
		if err := os.Chmod(filepath.Join(rootfs, d), 0o777|os.ModeSticky); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(redisDockerfile), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(log, "images: docker build -t %s (redis-server from %s)\n", Redis, server)
	return run(ctx, log, "docker", "build", "-t", Redis, dir)
}

// findRedisServer locates Debian's redis-server, installing the package when
// running as root with apt-get available (CI machines start without it).
func findRedisServer(ctx context.Context, log io.Writer) (string, error) {
	if path, err := exec.LookPath("redis-server"); err == nil {
		return path, nil
	}
	if _, err := exec.LookPath("apt-get"); err != nil || os.Geteuid() != 0 {
		return "", errNoRedisBinary
	}
	fmt.Fprintln(log, "images: apt-get install -y redis-server redis-tools")
	install := func() error {
		return run(ctx, log, "apt-get", "install", "-y", "--no-install-recommends", "redis-server", "redis-tools")
	}
	if err := install(); err != nil {
		// A fresh machine may have no package lists yet.
		if uerr := run(ctx, log, "apt-get", "update"); uerr != nil {
			return "", fmt.Errorf("%w (apt-get update: %v)", errNoRedisBinary, uerr)
		}
		if err := install(); err != nil {
			return "", fmt.Errorf("%w (apt-get install: %v)", errNoRedisBinary, err)
		}
	}
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return "", errNoRedisBinary
	}
	return path, nil
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
