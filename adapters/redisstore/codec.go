package redisstore

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
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
)

// encode flattens an instance into HSET field/value pairs.
func encode(in catalog.Instance) ([]any, error) {
	mdJSON, err := encodeMetadata(in.Metadata)
	if err != nil {
		return nil, fmt.Errorf("redisstore: encode metadata: %w", err)
	}
	return []any{
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
	}, nil
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
	defaultID                               string
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

// encodeMetadata is json.Marshal's text of md (nil as {}). Keys and values
// of printable ASCII that encoding/json writes as they are (no quote,
// backslash, <, > or &) are written by hand, keys sorted as json.Marshal
// sorts them; anything else goes to json.Marshal.
func encodeMetadata(md map[string]string) (string, error) {
	if len(md) == 0 {
		return "{}", nil
	}
	size := 2
	for k, v := range md {
		if !verbatimJSON(k) || !verbatimJSON(v) {
			b, err := json.Marshal(md)
			return string(b), err
		}
		size += len(k) + len(v) + 6
	}
	var arr [8]string
	keys := arr[:0]
	for k := range md {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.Grow(size)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(k)
		b.WriteString(`":"`)
		b.WriteString(md[k])
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String(), nil
}

// verbatimJSON says whether encoding/json writes s between quotes as it is.
func verbatimJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// decodeMetadata reads the metadata JSON that encode wrote. The common
// shape (an object of plain ASCII strings, no escapes) is parsed by hand;
// anything else goes to encoding/json, whose answer and errors stand.
func decodeMetadata(s string) (map[string]string, error) {
	if md, ok := plainStringObject(s); ok {
		return md, nil
	}
	var md map[string]string
	err := json.Unmarshal([]byte(s), &md)
	return md, err
}

// plainStringObject parses {"k":"v",...} when every byte is printable ASCII
// other than a backslash, with no whitespace: json.Marshal's output for
// such a map. ok is false for anything else, including duplicate keys.
func plainStringObject(s string) (map[string]string, bool) {
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return nil, false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '\\' {
			return nil, false
		}
	}
	body := s[1 : len(s)-1]
	if body == "" {
		return map[string]string{}, true
	}
	md := make(map[string]string, strings.Count(body, `":"`))
	for {
		k, rest, ok := quoted(body)
		if !ok || len(rest) == 0 || rest[0] != ':' {
			return nil, false
		}
		v, rest, ok := quoted(rest[1:])
		if !ok {
			return nil, false
		}
		if _, dup := md[k]; dup {
			return nil, false
		}
		md[k] = v
		if rest == "" {
			return md, true
		}
		if rest[0] != ',' {
			return nil, false
		}
		body = rest[1:]
	}
}

// quoted splits a leading "..." (no escapes) off s.
func quoted(s string) (v, rest string, ok bool) {
	if len(s) < 2 || s[0] != '"' {
		return "", "", false
	}
	end := strings.IndexByte(s[1:], '"')
	if end < 0 {
		return "", "", false
	}
	return s[1 : 1+end], s[2+end:], true
}

// instanceFields are the fields decodeFields reads, in its order; Instances
// asks for them by name (HMGET).
var instanceFields = [...]string{fService, fInstanceID, fEndpoint, fHealth, fMetadata, fRegisteredAt, fLastHeartbeat, fTTL, fDefaultID}

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
		registeredAt: v[5], lastHeartbeat: v[6], ttl: v[7], defaultID: v[8]}
	return f.instance()
}
