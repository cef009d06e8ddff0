//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/vertice/vertice/internal/images"
)

// Images builds the third-party images the tests and compose files use,
// locally: these machines have a Docker engine but no image registry.
type Images mg.Namespace

// Redis makes vertice/redis:local (redis-server and Sentinel): a pulled
// redis:7.2 re-tagged when a registry answers, otherwise Debian's
// redis-server in a FROM scratch image. A no-op when the image exists.
func (Images) Redis(ctx context.Context) error {
	name, err := images.EnsureRedis(ctx, images.WithLog(os.Stdout))
	if err != nil {
		return err
	}
	fmt.Println("image ready:", name)
	return nil
}
