package main

import (
	"log/slog"
	"net/http"

	"github.com/vertice/vertice/adapters/healthprobe"
	"github.com/vertice/vertice/adapters/registryclient"
	"github.com/vertice/vertice/domain/agent"
)

// app is the wired sidecar: the agent and its status server's handler.
type app struct {
	agent  *agent.Agent
	status http.Handler
}

// wire builds the agent over the real adapters: the only place they meet.
func wire(cfg Config, log *slog.Logger) (*app, error) {
	client, err := registryclient.New(cfg.RegistryURL, registryclient.Options{
		Token: cfg.RegistryToken, Timeout: cfg.RegistryTimeout, TLS: cfg.RegistryTLS,
		Proxy: http.ProxyFromEnvironment, UserAgent: "vertice-sidecar",
	})
	if err != nil {
		return nil, err
	}
	probe, err := healthprobe.New(cfg.HealthURL(), healthprobe.Options{InsecureSkipVerify: cfg.ServiceTLSInsecure})
	if err != nil {
		return nil, err
	}
	a, err := agent.New(cfg.AgentConfig(), agent.Deps{
		Registry: client,
		Probe:    probe,
		Log:      log,
	})
	if err != nil {
		return nil, err
	}
	return &app{agent: a, status: statusHandler(a, metricsHandler(a.State))}, nil
}
