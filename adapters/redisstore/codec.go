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
)

// encode flattens an instance into HSET field/value pairs.
func encode(in catalog.Instance) ([]any, error) {
	md := in.Metadata
	if md == nil {
		md = map[string]string{}
	}
	mdJSON, err := json.Marshal(md)
	if err != nil {
		return nil, fmt.Errorf("redisstore: encode metadata: %w", err)
	}
	return []any{
		fService, in.ServiceName,
		fInstanceID, in.InstanceID,
		fEndpoint, in.Endpoint,
		fHealth, in.HealthEndpoint,
		fMetadata, string(mdJSON),
		fRegisteredAt, strconv.FormatInt(in.RegisteredAt.UnixNano(), 10),
		fLastHeartbeat, strconv.FormatInt(in.LastHeartbeat.UnixNano(), 10),
		fTTL, strconv.FormatInt(int64(in.TTL), 10),
		fExpiry, strconv.FormatInt(in.ExpiresAt().UnixMicro(), 10),
	}, nil
}

// decode rebuilds an instance from HGETALL's map. ok is false for an empty
// map: the key expired or was deleted between listing and reading it.
func decode(h map[string]string) (in catalog.Instance, ok bool, err error) {
	if len(h) == 0 {
		return catalog.Instance{}, false, nil
	}
	in.ServiceName = h[fService]
	in.InstanceID = h[fInstanceID]
	in.Endpoint = h[fEndpoint]
	in.HealthEndpoint = h[fHealth]
	if err := json.Unmarshal([]byte(h[fMetadata]), &in.Metadata); err != nil {
		return in, false, fmt.Errorf("redisstore: instance %s/%s: metadata: %w", in.ServiceName, in.InstanceID, err)
	}
	var ns [3]int64
	for i, f := range []string{fRegisteredAt, fLastHeartbeat, fTTL} {
		if ns[i], err = strconv.ParseInt(h[f], 10, 64); err != nil {
			return in, false, fmt.Errorf("redisstore: instance %s/%s: %s: %w", in.ServiceName, in.InstanceID, f, err)
		}
	}
	in.RegisteredAt = time.Unix(0, ns[0])
	in.LastHeartbeat = time.Unix(0, ns[1])
	in.TTL = time.Duration(ns[2])
	return in, true, nil
}

// pairsToMap turns a script's HGETALL reply (a flat field/value list) into
// the map decode takes.
func pairsToMap(reply any) (map[string]string, error) {
	list, ok := reply.([]any)
	if !ok || len(list)%2 != 0 {
		return nil, fmt.Errorf("redisstore: unexpected script reply %T", reply)
	}
	h := make(map[string]string, len(list)/2)
	for i := 0; i < len(list); i += 2 {
		k, kok := list[i].(string)
		v, vok := list[i+1].(string)
		if !kok || !vok {
			return nil, fmt.Errorf("redisstore: unexpected script reply field %T=%T", list[i], list[i+1])
		}
		h[k] = v
	}
	return h, nil
}
