//go:build !unix

package images

import "context"

// lockFile is a no-op where flock is missing: concurrent builds then merely
// race to set the same tag.
func lockFile(context.Context, string) (func(), error) { return func() {}, nil }
