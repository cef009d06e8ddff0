package resilient

import (
	"slices"
	"sync"
	"time"

	"github.com/vertice/vertice/domain/catalog"
)

// cache holds the last good reads. Successful writes patch what is cached
// (without making it younger), so an outage right after a deregistration
// does not resurrect the instance from the cache.
type cache struct {
	mu        sync.Mutex
	byService map[string]cachedInstances
	names     []string
	namesAt   time.Time // zero: no Services read cached
}

type cachedInstances struct {
	list []catalog.Instance
	at   time.Time
}

func newCache() cache { return cache{byService: map[string]cachedInstances{}} }

// putInstances keeps a copy: callers sort what they get back in place.
// The copy reuses the service's previous cached slice when it is large
// enough: nothing outside the cache holds it (instances hands out clones),
// so a lookup's refresh allocates nothing.
func (c *cache) putInstances(service string, list []catalog.Instance, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.byService[service].list
	if cap(old) < len(list) {
		old = make([]catalog.Instance, 0, len(list))
	}
	c.byService[service] = cachedInstances{list: append(old[:0], list...), at: now}
}

// instances returns a copy of the cached list if it was read after oldest.
func (c *cache) instances(service string, oldest time.Time) ([]catalog.Instance, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byService[service]
	if !ok || e.at.Before(oldest) || len(e.list) == 0 {
		return nil, false
	}
	return slices.Clone(e.list), true
}

func (c *cache) putServices(names []string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.names, c.namesAt = slices.Clone(names), now
}

func (c *cache) services(oldest time.Time) ([]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.namesAt.IsZero() || c.namesAt.Before(oldest) {
		return nil, false
	}
	return slices.Clone(c.names), true
}

// upsert records a written instance in whatever is cached for its service.
func (c *cache) upsert(in catalog.Instance) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byService[in.ServiceName]; ok {
		i := slices.IndexFunc(e.list, func(x catalog.Instance) bool { return x.InstanceID == in.InstanceID })
		if i >= 0 {
			e.list[i] = in
		} else {
			e.list = append(e.list, in)
		}
		c.byService[in.ServiceName] = e
	}
	if !c.namesAt.IsZero() {
		if i, found := slices.BinarySearch(c.names, in.ServiceName); !found {
			c.names = slices.Insert(c.names, i, in.ServiceName)
		}
	}
}

// remove forgets one instance, or the whole service when id is empty. The
// name leaves the cached list only when the service is known to be empty.
func (c *cache) remove(service, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byService[service]
	if ok && id != "" {
		e.list = slices.DeleteFunc(e.list, func(x catalog.Instance) bool { return x.InstanceID == id })
		c.byService[service] = e
	}
	gone := id == "" || (ok && len(e.list) == 0)
	if !gone {
		return
	}
	delete(c.byService, service)
	if i, found := slices.BinarySearch(c.names, service); found {
		c.names = slices.Delete(c.names, i, i+1)
	}
}
