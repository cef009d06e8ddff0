package main

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/vertice/vertice/adapters/registryclient"
	"github.com/vertice/vertice/domain/agent"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/internal/envconf"
)

// Config is the sidecar's configuration, read from the environment with the
// seed's names. Durations are whole seconds (30) or Go durations (500ms).
type Config struct {
	// ServiceName, ServiceHost, ServicePort are required (SERVICE_NAME,
	// SERVICE_HOST, SERVICE_PORT); the endpoint registered is
	// ServiceScheme://ServiceHost:ServicePort.
	ServiceName string
	ServiceHost string
	ServicePort int
	// ServiceScheme is http or https (SERVICE_SCHEME, default http): how
	// the service is probed, and the scheme of the endpoint registered.
	ServiceScheme string
	// ServiceTLSInsecure accepts any certificate from an https service
	// (SERVICE_TLS_INSECURE, default false): an explicit opt-out for
	// self-signed service certificates.
	ServiceTLSInsecure bool
	// HealthEndpoint is the path probed and registered
	// (SERVICE_HEALTH_ENDPOINT, default /health).
	HealthEndpoint string
	// Metadata is registered with the instance (SERVICE_METADATA, default
	// none): "version=1.0.0,zone=a" or a JSON object of strings. The key
	// "status" is the sidecar's own and is overwritten by every probe.
	Metadata map[string]string
	// Tags are registered with the instance (SERVICE_TAGS, default none):
	// "traefik.enable=true,v1", or a JSON array of strings for tags that
	// hold commas. Consul clients (Traefik, Prometheus) read them.
	Tags []string
	// InstanceID identifies this instance (INSTANCE_ID, default host:port).
	InstanceID string
	// RegistryURL is the registry's base URL (REGISTRY_URL, default
	// http://vertice-register-lb:80); https:// is checked against the
	// system's roots, or RegistryCAFile's.
	RegistryURL string
	// RegistryCAFile is a PEM file of the CAs trusted for an https registry
	// instead of the system's roots (REGISTRY_CA_FILE, default none).
	RegistryCAFile string
	// RegistryTLSServerName is the name the registry's certificate must
	// carry, when it is not REGISTRY_URL's host (REGISTRY_TLS_SERVER_NAME).
	RegistryTLSServerName string
	// RegistryTLS is the TLS configuration the two above make; nil for an
	// http:// registry.
	RegistryTLS *tls.Config
	// RegistryToken is sent as a bearer token when set (REGISTRY_TOKEN).
	RegistryToken string
	// RegistryTimeout bounds each registry call (REGISTRY_TIMEOUT, default 5 s).
	RegistryTimeout time.Duration
	// HeartbeatInterval (HEARTBEAT_INTERVAL, default 30 s) also paces the
	// health probes.
	HeartbeatInterval time.Duration
	// InitialWait (INITIAL_WAIT_TIMEOUT, default 60 s) bounds the wait for
	// the first 200 before registering anyway.
	InitialWait time.Duration
	// BackoffMax caps the registration retry delay (REGISTRATION_BACKOFF_MAX,
	// default 60 s); tests shorten it.
	BackoffMax time.Duration
	// StatusAddr is where the tiny status server listens (SIDECAR_ADDR,
	// default :9100): GET /health for -healthcheck, GET /metrics.
	StatusAddr string
	// LogLevel is debug, info, warn or error (LOG_LEVEL, default info).
	LogLevel string
}

// DefaultStatusAddr is where the status server listens by default.
const DefaultStatusAddr = ":9100"

// LoadConfig reads the environment and reports every bad variable at once.
func LoadConfig(lookup envconf.Lookup) (Config, error) {
	r := envconf.New(lookup)
	c := Config{
		ServiceName:           r.Required("SERVICE_NAME", "osint_service"),
		ServiceHost:           r.Required("SERVICE_HOST", "vertice-osint"),
		ServiceScheme:         r.String("SERVICE_SCHEME", "http"),
		ServiceTLSInsecure:    r.Bool("SERVICE_TLS_INSECURE", false),
		HealthEndpoint:        r.String("SERVICE_HEALTH_ENDPOINT", catalog.DefaultHealthPath),
		RegistryURL:           r.String("REGISTRY_URL", "http://vertice-register-lb:80"),
		RegistryCAFile:        r.String("REGISTRY_CA_FILE", ""),
		RegistryTLSServerName: r.String("REGISTRY_TLS_SERVER_NAME", ""),
		RegistryToken:         r.String("REGISTRY_TOKEN", ""),
		RegistryTimeout:       r.Duration("REGISTRY_TIMEOUT", 5*time.Second),
		HeartbeatInterval:     r.Duration("HEARTBEAT_INTERVAL", agent.DefaultHeartbeatInterval),
		InitialWait:           r.Duration("INITIAL_WAIT_TIMEOUT", agent.DefaultInitialWait),
		BackoffMax:            r.Duration("REGISTRATION_BACKOFF_MAX", agent.DefaultBackoffMax),
		StatusAddr:            r.String("SIDECAR_ADDR", DefaultStatusAddr),
		LogLevel:              r.String("LOG_LEVEL", "info"),
	}
	if r.String("SERVICE_PORT", "") == "" {
		r.Fail("SERVICE_PORT", "is required (e.g. SERVICE_PORT=8049)")
	} else {
		c.ServicePort = r.Int("SERVICE_PORT", 0, 1, 65535)
	}
	c.Metadata = parseMetadata(r, r.String("SERVICE_METADATA", ""))
	c.Tags = parseTags(r, r.String("SERVICE_TAGS", ""))
	c.InstanceID = r.String("INSTANCE_ID", net.JoinHostPort(c.ServiceHost, strconv.Itoa(c.ServicePort)))
	c.validate(r)
	c.RegistryTLS = c.registryTLS(r)
	return c, r.Err()
}

func (c Config) validate(r *envconf.Reader) {
	var fe *catalog.FieldError
	if c.ServiceName != "" && errors.As(catalog.ValidateServiceName(c.ServiceName), &fe) {
		r.Fail("SERVICE_NAME", fe.Rule)
	}
	if c.ServiceScheme != "http" && c.ServiceScheme != "https" {
		r.Fail("SERVICE_SCHEME", fmt.Sprintf("%q must be http or https", c.ServiceScheme))
	}
	if c.ServiceTLSInsecure && c.ServiceScheme != "https" {
		r.Fail("SERVICE_TLS_INSECURE", "is only meaningful with SERVICE_SCHEME=https")
	}
	if c.ServiceHost != "" && strings.ContainsAny(c.ServiceHost, "/:@ ") {
		r.Fail("SERVICE_HOST", fmt.Sprintf("%q must be a bare hostname or IPv4 address, without scheme, port or path", c.ServiceHost))
	}
	if !strings.HasPrefix(c.HealthEndpoint, "/") {
		r.Fail("SERVICE_HEALTH_ENDPOINT", fmt.Sprintf("%q must be a path starting with / (e.g. /health)", c.HealthEndpoint))
	}
	if errors.As(catalog.ValidateInstanceID(c.InstanceID), &fe) {
		r.Fail("INSTANCE_ID", fe.Rule)
	}
	if _, err := registryclient.ParseBaseURL(c.RegistryURL); err != nil {
		r.Fail("REGISTRY_URL", err.Error())
	}
	if _, _, err := net.SplitHostPort(c.StatusAddr); err != nil {
		r.Fail("SIDECAR_ADDR", fmt.Sprintf("%q must be host:port or :port (e.g. :9100)", c.StatusAddr))
	}
	c.validateRegistration(r)
}

// validateRegistration holds the registration the sidecar would send to
// the registry's own rules, so a sidecar that starts never sends one the
// registry must refuse (it would retry forever); the message names the
// variable the field came from.
func (c Config) validateRegistration(r *envconf.Reader) {
	if r.Err() != nil {
		return // one mistake at a time: the fields may not be filled yet
	}
	_, err := c.AgentConfig().Registration.Normalize()
	var fe *catalog.FieldError
	if !errors.As(err, &fe) {
		return
	}
	variable := map[string]string{"health_endpoint": "SERVICE_HEALTH_ENDPOINT", "endpoint": "SERVICE_HOST",
		"instance_id": "INSTANCE_ID", "service_name": "SERVICE_NAME"}[fe.Field]
	if strings.HasPrefix(fe.Field, "metadata") {
		variable = "SERVICE_METADATA"
	}
	if strings.HasPrefix(fe.Field, "tags") {
		variable = "SERVICE_TAGS"
	}
	if variable == "" {
		variable = "SERVICE_" + strings.ToUpper(fe.Field)
	}
	r.Fail(variable, fe.Error())
}

// registryTLS reads REGISTRY_CA_FILE at start, so a missing or empty file
// is a configuration error, not a failure at the first registration.
func (c Config) registryTLS(r *envconf.Reader) *tls.Config {
	if !strings.HasPrefix(c.RegistryURL, "https://") {
		if c.RegistryCAFile != "" {
			r.Fail("REGISTRY_CA_FILE", "is only used with an https:// REGISTRY_URL")
		}
		if c.RegistryTLSServerName != "" {
			r.Fail("REGISTRY_TLS_SERVER_NAME", "is only used with an https:// REGISTRY_URL")
		}
		return nil
	}
	conf, err := registryclient.TLSConfig(c.RegistryCAFile, c.RegistryTLSServerName)
	if err != nil {
		r.Fail("REGISTRY_CA_FILE", err.Error())
	}
	return conf
}

// parseMetadata accepts "k=v,k2=v2" (easy to write in compose files) or a
// JSON object of strings (for values containing commas).
func parseMetadata(r *envconf.Reader, v string) map[string]string {
	md := map[string]string{}
	if v == "" {
		return md
	}
	if strings.HasPrefix(v, "{") {
		if err := json.Unmarshal([]byte(v), &md); err != nil {
			r.Fail("SERVICE_METADATA", "is not a JSON object of strings: "+err.Error())
		}
		return md
	}
	for _, pair := range strings.Split(v, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		k, val, ok := strings.Cut(pair, "=")
		if k = strings.TrimSpace(k); !ok || k == "" {
			r.Fail("SERVICE_METADATA", fmt.Sprintf("%q must be key=value pairs separated by commas (e.g. version=1.0.0,zone=a) or a JSON object", pair))
			continue
		}
		md[k] = strings.TrimSpace(val)
	}
	return md
}

// parseTags accepts "a,b" (each tag trimmed, empty ones skipped) or a
// JSON array of strings (for tags that hold commas).
func parseTags(r *envconf.Reader, v string) []string {
	if strings.TrimSpace(v) == "" {
		return nil
	}
	var tags []string
	if strings.HasPrefix(strings.TrimSpace(v), "[") {
		if err := json.Unmarshal([]byte(v), &tags); err != nil {
			r.Fail("SERVICE_TAGS", "is not a JSON array of strings: "+err.Error())
		}
		return tags
	}
	for _, tag := range strings.Split(v, ",") {
		if tag = strings.TrimSpace(tag); tag != "" {
			tags = append(tags, tag)
		}
	}
	return tags
}

// Endpoint is the URL registered for the service.
func (c Config) Endpoint() string {
	return c.ServiceScheme + "://" + net.JoinHostPort(c.ServiceHost, strconv.Itoa(c.ServicePort))
}

// HealthURL is what the sidecar probes.
func (c Config) HealthURL() string { return c.Endpoint() + c.HealthEndpoint }

// AgentConfig is the agent's view of the configuration.
func (c Config) AgentConfig() agent.Config {
	return agent.Config{
		Registration: catalog.Registration{
			ServiceName: c.ServiceName, InstanceID: c.InstanceID, Endpoint: c.Endpoint(),
			HealthEndpoint: c.HealthEndpoint, Metadata: c.Metadata, Tags: c.Tags,
		},
		HeartbeatInterval: c.HeartbeatInterval,
		HeartbeatJitter:   agent.DefaultHeartbeatJitter,
		InitialWait:       c.InitialWait,
		BackoffMax:        c.BackoffMax,
	}
}
