//go:build mage

package main

import (
	"context"
	"fmt"

	"github.com/magefile/mage/mg"
	"github.com/magefile/mage/sh"

	"github.com/vertice/vertice/internal/testkit/compose"
	"github.com/vertice/vertice/internal/testkit/images"
)

// Compose groups the deployment checks.
type Compose mg.Namespace

// Up builds the images and starts the registry stack (5 replicas behind
// nginx on :8888, Redis with Sentinel), the demo service with its sidecar,
// and the gateway on :8000.
func Up(ctx context.Context) error {
	mg.SerialCtxDeps(ctx, Images.Vertice)
	stack, err := composeStack(ctx)
	if err != nil {
		return err
	}
	if err := stack.Up(ctx); err != nil {
		return err
	}
	fmt.Print(`
Vértice is starting (the demo registers within a few seconds):
  curl localhost:8888/services
  curl localhost:8888/services/demo_service
  curl localhost:8000/v2/demo_service/health
Stop it with: go tool mage down
`)
	return nil
}

// Down stops the deployment and removes its containers, networks and volumes.
func Down(ctx context.Context) error {
	stack, err := composeStack(ctx)
	if err != nil {
		return err
	}
	return stack.Down(ctx)
}

func composeStack(ctx context.Context) (compose.Stack, error) {
	env, err := images.ComposeEnv(ctx)
	if err != nil {
		return compose.Stack{}, err
	}
	return compose.Default(env)
}

// Smoke builds the images, brings the deployment up, stops a registry
// replica, restarts everything and tears it down, checking it answers
// through the load balancer and the gateway at each step.
func (Compose) Smoke() error {
	return sh.RunWithV(testEnv, "go", "test", "-count=1", "-v", "-timeout", "20m", "-run", "TestComposeSmoke", "./deploy/")
}
