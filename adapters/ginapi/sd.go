package ginapi

import (
	"net/http"
	"net/url"
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
	labels := map[string]string{
		"service":                      in.ServiceName,
		"instance_id":                  in.InstanceID,
		metaPrefix + "endpoint":        in.Endpoint,
		metaPrefix + "health_endpoint": in.HealthEndpoint,
		metaPrefix + "healthy":         boolLabel(in.Healthy()),
	}
	for k, v := range in.Metadata {
		labels[metaPrefix+"metadata_"+labelName(k)] = v
	}
	target := in.Endpoint
	scheme := "http"
	if u, err := url.Parse(in.Endpoint); err == nil {
		target, scheme = u.Host, u.Scheme
	}
	labels["__scheme__"] = scheme
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
