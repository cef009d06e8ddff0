package consulapi

import "sync"

// maxCachedIDs bounds what one replica remembers of which service holds
// which Consul service ID; past it the memory starts again (each ID then
// costs one scan of the catalog on its next update).
const maxCachedIDs = 100_000

// idCache remembers the service of each Consul service ID this replica
// has seen, so a check update (every instance, every few seconds) does
// not scan the catalog. An entry is a hint: an update that finds no
// instance there scans again (the instance may have been registered again
// under another service, through another replica).
type idCache struct {
	mu    sync.Mutex
	max   int
	names map[string]string
}

func newIDCache(max int) *idCache { return &idCache{max: max, names: map[string]string{}} }

func (c *idCache) get(id string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.names[id]
	return s, ok
}

func (c *idCache) put(id, service string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.names[id]; !ok && len(c.names) >= c.max {
		clear(c.names)
	}
	c.names[id] = service
}

func (c *idCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.names, id)
}
