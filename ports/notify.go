package ports

import (
	"context"
	"time"
)

// A shared backend (Redis) pushes every change to every replica, so each
// keeps a coherent copy of the catalog and wakes its own watchers.

// NoticeKind says what a Notice reports.
type NoticeKind int

// The kinds of notices.
const (
	// ServiceChanged: Service's index moved to Index; read it again.
	ServiceChanged NoticeKind = iota + 1
	// InstanceRenewed: InstanceID of Service was renewed at At; no index moved.
	InstanceRenewed
	// CatalogChanged: the catalog's index moved to Index.
	CatalogChanged
	// Forgotten: removals at or below Index are forgotten (Index is the new since).
	Forgotten
)

// Notice is one change, as the backend published it.
type Notice struct {
	Kind       NoticeKind
	Service    string
	InstanceID string
	Index      uint64
	At         time.Time
}

// Listener receives notices in the order the backend made the changes.
// Up is called once the subscription holds (first, and after every
// reconnection) and Down when it is lost: notices published meanwhile are
// lost, so a listener reads everything again on Up.
type Listener interface {
	Up()
	Down(err error)
	Notice(Notice)
}

// Notifier delivers a backend's change notices to a Listener until ctx
// ends, reconnecting by itself.
type Notifier interface {
	Listen(ctx context.Context, l Listener)
}
