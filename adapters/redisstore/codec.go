package redisstore

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/vertice/vertice/domain/catalog"
)

// Hash fields of one instance. Times are kept in Unix nanoseconds so an
// instance reads back exactly as written; exp_us duplicates the expiry in
// microseconds for the Lua scripts, whose numbers are doubles.
const (
	fService       = "service_name"
	fInstanceID    = "instance_id"
	fEndpoint      = "endpoint"
	fHealth        = "health_endpoint"
	fMetadata      = "metadata"
	fRegisteredAt  = "registered_at_ns"
	fLastHeartbeat = "last_heartbeat_ns"
	fTTL           = "ttl_ns"
	fExpiry        = "exp_us"
	// fDefaultID is "1" when the client gave no instance ID (see
	// catalog.Registration.DefaultID), else "0". A hash written before
	// the field existed has none and reads as "0": an instance a
	// heartbeat must name. A v1 client, whose heartbeats name only the
	// service, then gets a 404 once and registers again, which writes
	// the field; an instance with its own ID is never renewed by a
	// name-only heartbeat, whatever its age.
	fDefaultID = "default_id"
	// fTags is the tags as a JSON array, written only when there are
	// some: a hash without it (every hash written before tags existed)
	// reads as no tags.
	fTags = "tags"
)

// encode flattens an instance into HSET field/value pairs.
func encode(in catalog.Instance) ([]any, error) {
	mdJSON, err := encodeMetadata(in.Metadata)
	if err != nil {
		return nil, fmt.Errorf("redisstore: encode metadata: %w", err)
	}
	out := []any{
		fService, in.ServiceName,
		fInstanceID, in.InstanceID,
		fEndpoint, in.Endpoint,
		fHealth, in.HealthEndpoint,
		fMetadata, mdJSON,
		fRegisteredAt, strconv.FormatInt(in.RegisteredAt.UnixNano(), 10),
		fLastHeartbeat, strconv.FormatInt(in.LastHeartbeat.UnixNano(), 10),
		fTTL, strconv.FormatInt(int64(in.TTL), 10),
		fExpiry, strconv.FormatInt(in.ExpiresAt().UnixMicro(), 10),
		fDefaultID, flag(in.DefaultID),
	}
	if len(in.Tags) > 0 {
		tags, err := json.Marshal(in.Tags)
		if err != nil {
			return nil, fmt.Errorf("redisstore: encode tags: %w", err)
		}
		out = append(out, fTags, string(tags))
	}
	return out, nil
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// fieldValues are the hash fields decode reads; absent ones are "".
type fieldValues struct {
	service, id, endpoint, health, metadata string
	registeredAt, lastHeartbeat, ttl        string
	defaultID, tags                         string
}

func (f *fieldValues) instance() (in catalog.Instance, ok bool, err error) {
	in.ServiceName = f.service
	in.InstanceID = f.id
	in.Endpoint = f.endpoint
	in.HealthEndpoint = f.health
	in.DefaultID = f.defaultID == "1"
	if in.Metadata, err = decodeMetadata(f.metadata); err != nil {
		return in, false, fmt.Errorf("redisstore: instance %s/%s: metadata: %w", in.ServiceName, in.InstanceID, err)
	}
	if in.Tags, err = decodeTags(f.tags); err != nil {
		return in, false, fmt.Errorf("redisstore: instance %s/%s: tags: %w", in.ServiceName, in.InstanceID, err)
	}
	var ns [3]int64
	for i, v := range [3]string{f.registeredAt, f.lastHeartbeat, f.ttl} {
		if ns[i], err = strconv.ParseInt(v, 10, 64); err != nil {
			name := [3]string{fRegisteredAt, fLastHeartbeat, fTTL}[i]
			return in, false, fmt.Errorf("redisstore: instance %s/%s: %s: %w", in.ServiceName, in.InstanceID, name, err)
		}
	}
	in.RegisteredAt = time.Unix(0, ns[0])
	in.LastHeartbeat = time.Unix(0, ns[1])
	in.TTL = time.Duration(ns[2])
	return in, true, nil
}

// encodeMetadata is md as JSON; nil is stored as {}.
func encodeMetadata(md map[string]string) (string, error) {
	if md == nil {
		return "{}", nil
	}
	b, err := json.Marshal(md)
	return string(b), err
}

// decodeMetadata reads the metadata JSON that encode wrote.
func decodeMetadata(s string) (map[string]string, error) {
	var md map[string]string
	err := json.Unmarshal([]byte(s), &md)
	return md, err
}

// decodeTags reads the tags encode wrote; "" (no field) is no tags.
func decodeTags(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var tags []string
	if err := json.Unmarshal([]byte(s), &tags); err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		return nil, nil
	}
	return tags, nil
}

// instanceFields are the fields decodeFields reads, in its order; Instances
// asks for them by name (HMGET).
var instanceFields = [...]string{fService, fInstanceID, fEndpoint, fHealth, fMetadata, fRegisteredAt, fLastHeartbeat, fTTL, fDefaultID, fTags}

// instanceFieldArgs is instanceFields as script arguments.
var instanceFieldArgs = func() []any {
	out := make([]any, len(instanceFields))
	for i, f := range instanceFields {
		out[i] = f
	}
	return out
}()

// decodeFields rebuilds an instance from an HMGET of instanceFields, as
// decode would from the hash: ok is false when every value is nil (the
// key expired or was deleted between listing and reading it); a single
// missing field reads as "".
func decodeFields(reply any) (in catalog.Instance, ok bool, err error) {
	list, isList := reply.([]any)
	if !isList || len(list) != len(instanceFields) {
		return in, false, fmt.Errorf("redisstore: unexpected script reply %T", reply)
	}
	var v [len(instanceFields)]string
	present := false
	for i, x := range list {
		switch x := x.(type) {
		case nil:
		case string:
			v[i], present = x, true
		default:
			return in, false, fmt.Errorf("redisstore: unexpected script reply field %s=%T", instanceFields[i], x)
		}
	}
	if !present {
		return in, false, nil
	}
	f := fieldValues{service: v[0], id: v[1], endpoint: v[2], health: v[3], metadata: v[4],
		registeredAt: v[5], lastHeartbeat: v[6], ttl: v[7], defaultID: v[8], tags: v[9]}
	return f.instance()
}
