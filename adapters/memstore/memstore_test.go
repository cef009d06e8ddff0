package memstore_test

import (
	"testing"

	"github.com/vertice/vertice/adapters/memstore"
	"github.com/vertice/vertice/ports"
	"github.com/vertice/vertice/ports/portstest"
)

func TestStoreContract(t *testing.T) {
	portstest.RunStore(t, func(_ *testing.T, clock ports.Clock) ports.Store {
		return memstore.New(clock)
	})
}

func TestWatcherContract(t *testing.T) {
	portstest.RunWatcher(t, func(_ *testing.T, clock ports.Clock) portstest.WatchedStore {
		return memstore.New(clock)
	})
}
