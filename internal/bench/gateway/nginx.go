package gateway

import (
	"fmt"
	"os"
	"path/filepath"
)

// nginxConfig is a reverse proxy equivalent to the gateway's hot path: one
// worker, keep-alive to the upstream, the same X-Forwarded-* headers, no
// access log (the gateway keeps none either), buffering as nginx ships it.
const nginxConfig = `worker_processes 1;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    upstream bench_service {
        server %[2]s;
        keepalive 256;
    }
    server {
        listen %[3]s;
        location /v2/bench_service/ {
            proxy_pass http://bench_service/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Host $host;
            proxy_set_header X-Forwarded-Proto $scheme;
        }
    }
}
`

// writeNginxConfig writes the config into dir and returns its path.
func writeNginxConfig(dir, upstreamAddr, listenAddr string) (string, error) {
	path := filepath.Join(dir, "nginx.conf")
	conf := fmt.Sprintf(nginxConfig, dir, upstreamAddr, listenAddr)
	return path, os.WriteFile(path, []byte(conf), 0o644)
}
