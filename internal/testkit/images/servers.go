package images

import (
	"context"
	"fmt"
	"io"

	"github.com/vertice/vertice/internal/testkit/debian"
)

// Local tags and upstream defaults of the other third-party servers the
// compose files use. Compose names them through NGINX_IMAGE and
// PROMETHEUS_IMAGE with the upstream names as defaults.
const (
	Nginx              = "vertice/nginx:local"
	NginxUpstream      = "nginx:1.27"
	NginxImageEnv      = "NGINX_IMAGE"
	Prometheus         = "vertice/prometheus:local"
	PrometheusUpstream = "prom/prometheus:v2.53.0"
	PrometheusImageEnv = "PROMETHEUS_IMAGE"
)

// EnsureNginx returns an nginx image: $NGINX_IMAGE, a pulled nginx:1.27, or
// Debian's nginx in a FROM scratch image.
func EnsureNginx(ctx context.Context, opts ...Option) (string, error) {
	return ensure(ctx, thirdParty{env: NginxImageEnv, local: Nginx, upstream: NginxUpstream, build: buildNginx}, opts)
}

// EnsurePrometheus returns a Prometheus image: $PROMETHEUS_IMAGE, a pulled
// prom/prometheus, or Debian's prometheus in a FROM scratch image.
func EnsurePrometheus(ctx context.Context, opts ...Option) (string, error) {
	return ensure(ctx, thirdParty{env: PrometheusImageEnv, local: Prometheus, upstream: PrometheusUpstream,
		build: buildPrometheus}, opts)
}

// nginx's workers switch to "nobody", which needs these two files; the
// compose config keeps every temp path and the pid file under /tmp.
const (
	etcPasswd = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
	etcGroup  = "root:x:0:\nnogroup:x:65534:\n"
)

const nginxDockerfile = `FROM scratch
COPY rootfs/ /
ENV PATH=/usr/sbin:/usr/bin:/bin
STOPSIGNAL SIGQUIT
EXPOSE 80
CMD ["nginx", "-g", "daemon off;"]
`

// nginxDefaultConf lets the image run without a mounted config, like the
// upstream one does.
const nginxDefaultConf = `worker_processes 1;
error_log /dev/stderr warn;
pid /tmp/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path /tmp/client_body;
    proxy_temp_path /tmp/proxy;
    fastcgi_temp_path /tmp/fastcgi;
    uwsgi_temp_path /tmp/uwsgi;
    scgi_temp_path /tmp/scgi;
    server { listen 80; location / { return 200 "nginx\n"; } }
}
`

func buildNginx(ctx context.Context, log io.Writer) error {
	bin, err := debian.Find(ctx, log, "nginx", "nginx-light")
	if err != nil {
		return err
	}
	img := scratchImage{
		tag:        Nginx,
		dockerfile: nginxDockerfile,
		bins:       map[string]string{bin: "/usr/sbin/nginx"},
		dirs:       []string{"/tmp", "/var/lib/nginx", "/var/log/nginx", "/run"},
		files: map[string]string{
			"/etc/passwd":           etcPasswd,
			"/etc/group":            etcGroup,
			"/etc/nginx/nginx.conf": nginxDefaultConf,
		},
	}
	fmt.Fprintf(log, "images: docker build -t %s (nginx from %s)\n", Nginx, bin)
	return img.build(ctx, log)
}

const prometheusDockerfile = `FROM scratch
COPY rootfs/ /
USER 65534:65534
EXPOSE 9090
WORKDIR /prometheus
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
`

const prometheusDefaultConf = `global:
  scrape_interval: 15s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["localhost:9090"]
`

func buildPrometheus(ctx context.Context, log io.Writer) error {
	bin, err := debian.Find(ctx, log, "prometheus", "prometheus")
	if err != nil {
		return err
	}
	img := scratchImage{
		tag:        Prometheus,
		dockerfile: prometheusDockerfile,
		bins:       map[string]string{bin: "/bin/prometheus"},
		dirs:       []string{"/prometheus", "/tmp"},
		files: map[string]string{
			"/etc/passwd":                    etcPasswd,
			"/etc/group":                     etcGroup,
			"/etc/prometheus/prometheus.yml": prometheusDefaultConf,
		},
	}
	fmt.Fprintf(log, "images: docker build -t %s (prometheus from %s)\n", Prometheus, bin)
	return img.build(ctx, log)
}

// ComposeEnv makes sure every third-party image exists and returns the
// variables that point the compose files at them.
func ComposeEnv(ctx context.Context, opts ...Option) (map[string]string, error) {
	env := map[string]string{}
	for name, ensure := range map[string]func(context.Context, ...Option) (string, error){
		RedisImageEnv: EnsureRedis, NginxImageEnv: EnsureNginx, PrometheusImageEnv: EnsurePrometheus,
		AlertmanagerImageEnv: EnsureAlertmanager,
	} {
		image, err := ensure(ctx, opts...)
		if err != nil {
			return nil, err
		}
		env[name] = image
	}
	return env, nil
}
