package ginapi

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/vertice/vertice/domain/catalog"
)

// targetGroup is one entry of Prometheus's http_sd_configs format.
type targetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// Label names under __meta_ are dropped after relabelling unless a
// relabel_config keeps them; service and instance_id are kept as they are.
//
// Metadata is a client's to choose, so it only ever appears as
// __meta_vertice_metadata_<key>: never as a label Prometheus acts on
// (__address__, __metrics_path__, __param_*, __scheme__), nor as job,
// instance or one of ours. Which of them become labels is the scrape
// config's choice (monitoring/prometheus/prometheus.yml keeps an
// allowlist).
const metaPrefix = "__meta_vertice_"

// prometheusSD serves GET /v1/sd/prometheus: one target group per live
// instance, so Prometheus finds every registered service by itself.
func (a *api) prometheusSD(c *gin.Context) {
	all, err := a.Registry.All(c.Request.Context())
	if err != nil {
		fail(c, err)
		return
	}
	groups := make([]targetGroup, 0, len(all))
	for _, in := range all {
		groups = append(groups, sdGroup(in))
	}
	c.JSON(http.StatusOK, groups)
}

func sdGroup(in catalog.Instance) targetGroup {
	target, scheme, endpoint := in.Endpoint, "http", in.Endpoint
	if u, err := url.Parse(in.Endpoint); err == nil {
		target, scheme = u.Host, u.Scheme
		// Registration refuses credentials in endpoints; an instance
		// stored before that rule must not hand them to every scraper.
		u.User = nil
		endpoint = u.String()
	}
	labels := map[string]string{
		"service":                      in.ServiceName,
		"instance_id":                  in.InstanceID,
		metaPrefix + "endpoint":        endpoint,
		metaPrefix + "health_endpoint": in.HealthEndpoint,
		metaPrefix + "healthy":         boolLabel(in.Healthy()),
		"__scheme__":                   scheme,
	}
	// Keys that map onto one label name (a.b and a_b) are decided in
	// key order, the first one winning, so the answer is stable.
	keys := make([]string, 0, len(in.Metadata))
	for k := range in.Metadata {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		name := metaPrefix + "metadata_" + labelName(k)
		if _, taken := labels[name]; !taken {
			labels[name] = in.Metadata[k]
		}
	}
	return targetGroup{Targets: []string{target}, Labels: labels}
}

func boolLabel(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// labelName maps a metadata key onto Prometheus's label charset
// [a-zA-Z0-9_], as Prometheus's own SD mechanisms do.
func labelName(key string) string {
	var b strings.Builder
	for _, r := range key {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}
