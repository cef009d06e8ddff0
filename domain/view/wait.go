package view

// Waiting: each Wait returns a channel that is closed once the index it
// watches differs from the one given (at once when it already does), and
// a release to call when the wait is over. A change to one service wakes
// only that service's waiters (and the change feed's).

// WaitService watches name's index. A service the table does not know
// gets a placeholder entry for as long as someone waits on it.
func (t *Table) WaitService(name string, index uint64) (<-chan struct{}, func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.services[name]
	if t.indexOf(e) != index {
		return closed, func() {}
	}
	if e == nil {
		e = t.entryFor(name)
	}
	e.waiters++
	if e.changed == nil {
		e.changed = make(chan struct{})
	}
	return e.changed, func() { t.release(name) }
}

func (t *Table) release(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.services[name]
	if e == nil || e.waiters == 0 {
		return
	}
	e.waiters--
	if e.waiters == 0 && e.index == 0 && len(e.instances) == 0 {
		delete(t.services, name) // a placeholder nobody waits on
	}
}

// WaitCatalog watches the catalog's index.
func (t *Table) WaitCatalog(index uint64) (<-chan struct{}, func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.catalog != index {
		return closed, func() {}
	}
	return t.channel(&t.catalogCh), func() {}
}

// WaitAny watches the highest index in the table: any change.
func (t *Table) WaitAny(index uint64) (<-chan struct{}, func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.max != index {
		return closed, func() {}
	}
	return t.channel(&t.anyCh), func() {}
}

// channel returns *ch, making it first if needed. Callers hold mu.
func (t *Table) channel(ch *chan struct{}) chan struct{} {
	if *ch == nil {
		*ch = make(chan struct{})
	}
	return *ch
}

// wake closes *ch if someone waits on it. Callers hold mu.
func (t *Table) wake(ch *chan struct{}) {
	if *ch != nil {
		close(*ch)
		*ch = nil
	}
}
