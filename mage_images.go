//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/magefile/mage/mg"
	"github.com/magefile/mage/sh"

	"github.com/vertice/vertice/internal/testkit/images"
)

// Images builds every image the compose files and container tests use,
// locally: these machines have a Docker engine but no image registry.
type Images mg.Namespace

// All builds our programs' images and the third-party server images.
func (Images) All(ctx context.Context) error {
	mg.SerialCtxDeps(ctx, Images.Vertice, Images.Servers)
	return nil
}

// Vertice builds vertice/<program>:latest FROM scratch for every program.
func (Images) Vertice() error {
	mg.Deps(Build)
	apps, err := appDirs()
	if err != nil {
		return err
	}
	for _, app := range apps {
		tag := "vertice/" + app + ":latest"
		if err := sh.Run("docker", "build", "-q", "-f", "deploy/Dockerfile", "--build-arg", "APP="+app, "-t", tag, "bin"); err != nil {
			return err
		}
		fmt.Println("image ready:", tag)
	}
	return nil
}

// Servers makes Redis (and Sentinel), nginx and Prometheus images: pulled
// upstream images re-tagged when a registry answers, otherwise Debian's
// binaries in FROM scratch images. A no-op for images that exist.
func (Images) Servers(ctx context.Context) error {
	for _, ensure := range []func(context.Context, ...images.Option) (string, error){
		images.EnsureRedis, images.EnsureNginx, images.EnsurePrometheus,
	} {
		name, err := ensure(ctx, images.WithLog(os.Stdout))
		if err != nil {
			return err
		}
		fmt.Println("image ready:", name)
	}
	return nil
}

// Redis makes only vertice/redis:local (redis-server and Sentinel).
func (Images) Redis(ctx context.Context) error {
	name, err := images.EnsureRedis(ctx, images.WithLog(os.Stdout))
	if err != nil {
		return err
	}
	fmt.Println("image ready:", name)
	return nil
}
