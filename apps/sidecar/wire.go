package main

import (
	"log/slog"

	"github.com/vertice/vertice/adapters/healthprobe"
	"github.com/vertice/vertice/adapters/registryclient"
	"github.com/vertice/vertice/domain/agent"
)

// wire builds the agent over the real adapters: the only place they meet.
func wire(cfg Config, log *slog.Logger) (*agent.Agent, error) {
	client, err := registryclient.New(cfg.RegistryURL, registryclient.Options{
		Token: cfg.RegistryToken, Timeout: cfg.RegistryTimeout,
	})
	if err != nil {
		return nil, err
	}
	probe, err := healthprobe.New(cfg.HealthURL(), 0)
	if err != nil {
		return nil, err
	}
	return agent.New(cfg.AgentConfig(), agent.Deps{
		Registry: client,
		Probe:    probe,
		Log:      log,
	})
}
