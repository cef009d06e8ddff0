package consulapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vertice/vertice/adapters/ginapi"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/domain/registry"
	"github.com/vertice/vertice/ports"
)

// Writes, for services that register themselves with Consul: a service
// with a TTL check is an instance whose lease is the check's TTL, a check
// update is a heartbeat that also reports the instance's health, and a
// deregistration removes it.
//
// Consul's service ID is unique on its agent, whatever the service's
// name; Vértice's instance ID is unique within its service. So a Consul
// service ID is the instance ID, and must be unique across services: a
// registration whose ID another service's live instance holds is a 409,
// and check updates and deregistrations find the service by the ID alone
// (a scan of the catalog, remembered per ID).

// registration is Consul's AgentServiceRegistration, every field the Go
// client sends. Fields Vértice cannot honour are kept raw and refused
// when set; a few that change nothing Vértice serves are accepted and
// ignored (docs/consul.md says which).
type registration struct {
	Kind              string
	ID                string
	Name              string
	Tags              []string
	Port              int
	Ports             json.RawMessage
	Address           string
	SocketPath        string
	TaggedAddresses   json.RawMessage // ignored: addresses come from Address
	EnableTagOverride bool            // ignored: no anti-entropy
	Meta              map[string]string
	Weights           json.RawMessage // ignored: no DNS
	Check             *check
	Checks            []*check
	Proxy             json.RawMessage
	Connect           json.RawMessage
	AI                json.RawMessage
	Namespace         string
	Partition         string
	Locality          json.RawMessage
}

// check is Consul's AgentServiceCheck.
type check struct {
	CheckID                        string
	Name                           string // ignored: the check's name is derived
	ScriptArgs                     []string
	DockerContainerID              string
	Shell                          string
	Interval                       string
	Timeout                        string
	TTL                            string
	HTTP                           string
	Header                         json.RawMessage
	Method                         string
	Body                           string
	TCP                            string
	TCPUseTLS                      bool
	UDP                            string
	Status                         string
	Notes                          string // ignored
	TLSServerName                  string
	TLSSkipVerify                  bool
	GRPC                           string
	GRPCUseTLS                     bool
	H2PING                         string
	H2PingUseTLS                   bool
	AliasNode                      string
	AliasService                   string
	OSService                      string
	SuccessBeforePassing           int
	FailuresBeforeWarning          int
	FailuresBeforeCritical         int
	DeregisterCriticalServiceAfter string
}

// probes says which kind of probe a check asks the agent to run, or "".
func (k *check) probes() string {
	switch {
	case k.HTTP != "":
		return "HTTP"
	case k.TCP != "":
		return "TCP"
	case k.UDP != "":
		return "UDP"
	case k.GRPC != "":
		return "GRPC"
	case k.H2PING != "":
		return "H2PING"
	case len(k.ScriptArgs) > 0:
		return "ScriptArgs"
	case k.DockerContainerID != "":
		return "DockerContainerID"
	case k.AliasNode != "" || k.AliasService != "":
		return "AliasService"
	case k.OSService != "":
		return "OSService"
	}
	return ""
}

func set(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null")) && !bytes.Equal(raw, []byte("{}")) &&
		!bytes.Equal(raw, []byte("[]"))
}

// decodeRegistration reads the body strictly: an unknown field is a 400
// naming it, not something silently dropped.
func decodeRegistration(c *gin.Context) (registration, error) {
	var r registration
	body := http.MaxBytesReader(c.Writer, c.Request.Body, ginapi.MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return r, badRequest{"request body: must be at most " + strconv.Itoa(ginapi.MaxBodyBytes) + " bytes"}
		}
		if errors.Is(err, io.EOF) {
			return r, badRequest{"request body: is empty; a JSON service definition is required"}
		}
		return r, badRequest{"request body: " + strings.TrimPrefix(err.Error(), "json: ")}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return r, badRequest{"request body: must hold a single JSON object"}
	}
	return r, nil
}

// unsupported names the first field set that Vértice cannot honour.
func (r registration) unsupported() error {
	switch {
	case r.Kind != "":
		return badRequest{"Kind: " + strconv.Quote(r.Kind) + " is not supported; Vértice registers typical services only (no Connect proxies or gateways)"}
	case set(r.Proxy), set(r.Connect):
		return badRequest{"Proxy, Connect: are not supported; Vértice has no service mesh"}
	case r.SocketPath != "":
		return badRequest{"SocketPath: is not supported; an instance is reached at Address:Port"}
	case set(r.Ports):
		return badRequest{"Ports: named ports are not supported; register one Port"}
	case set(r.AI), set(r.Locality):
		return badRequest{"AI, Locality: are not supported"}
	case r.Namespace != "" && r.Namespace != "default", r.Partition != "" && r.Partition != "default":
		return badRequest{"Namespace, Partition: only the default namespace and partition exist in Vértice"}
	}
	return nil
}

// lease is the registration's one TTL check: its TTL and the instance's
// first status (Consul starts a TTL check critical unless it says
// otherwise).
func (r registration) lease(id string) (time.Duration, string, error) {
	checks := r.Checks
	if r.Check != nil {
		checks = append([]*check{r.Check}, checks...)
	}
	var live []*check
	for _, k := range checks {
		if k != nil {
			live = append(live, k)
		}
	}
	if len(live) != 1 {
		return 0, "", badRequest{"Check: exactly one check with a TTL is required (" + strconv.Itoa(len(live)) +
			" given), e.g. \"Check\":{\"TTL\":\"30s\"}: Vértice keeps an instance while its TTL check is updated " +
			"(PUT /v1/agent/check/pass/service:<ID>)"}
	}
	k := live[0]
	if kind := k.probes(); kind != "" {
		return 0, "", badRequest{"Check." + kind + ": is not supported; Vértice does not probe services: use a TTL check " +
			"and update it from the service (or run the Vértice sidecar, which probes)"}
	}
	if k.CheckID != "" && k.CheckID != CheckID(id) && k.CheckID != CheckID(id)+":1" {
		return 0, "", badRequest{"Check.CheckID: " + strconv.Quote(k.CheckID) + " is not supported; leave it out: the check is " +
			strconv.Quote(CheckID(id))}
	}
	ttl, err := time.ParseDuration(k.TTL)
	if k.TTL == "" || err != nil {
		return 0, "", badRequest{"Check.TTL: " + strconv.Quote(k.TTL) + " must be a duration such as 30s"}
	}
	if k.DeregisterCriticalServiceAfter != "" {
		if _, err := time.ParseDuration(k.DeregisterCriticalServiceAfter); err != nil {
			return 0, "", badRequest{"Check.DeregisterCriticalServiceAfter: " + strconv.Quote(k.DeregisterCriticalServiceAfter) +
				" must be a duration such as 1m"}
		}
	}
	status := k.Status
	if status == "" {
		status = Critical
	}
	st, ok := ourStatus[status]
	if !ok {
		return 0, "", badRequest{"Check.Status: " + strconv.Quote(k.Status) + " must be passing, warning or critical"}
	}
	return ttl, st, nil
}

// ourStatus maps a check's state onto the metadata status routers read.
var ourStatus = map[string]string{
	Passing:  catalog.StatusHealthy,
	Warning:  catalog.StatusWarning,
	Critical: catalog.StatusUnhealthy,
}

// register is PUT /v1/agent/service/register.
func (a *api) register(c *gin.Context) {
	r, err := decodeRegistration(c)
	if err == nil {
		err = r.unsupported()
	}
	if err != nil {
		fail(c, err)
		return
	}
	reg, ttl, err := r.toCatalog()
	if err != nil {
		fail(c, inConsulTerms(err))
		return
	}
	ctx := c.Request.Context()
	if err := a.unique(ctx, reg.InstanceID, reg.ServiceName); err != nil {
		fail(c, err)
		return
	}
	in, created, err := a.Registry.RegisterFor(ctx, reg, ttl)
	if err != nil {
		fail(c, inConsulTerms(err))
		return
	}
	a.ids.put(in.InstanceID, in.ServiceName)
	if created {
		a.Logger.Info("instance registered", "service", in.ServiceName, "instance_id", in.InstanceID,
			"endpoint", in.Endpoint, "api", "consul")
	}
	c.Status(http.StatusOK)
}

// toCatalog is the registration in Vértice's terms and its lease.
func (r registration) toCatalog() (catalog.Registration, time.Duration, error) {
	if r.Name == "" {
		return catalog.Registration{}, 0, badRequest{"Name: is required"}
	}
	id := r.ID
	if id == "" {
		id = r.Name // as Consul does
	}
	if r.Address == "" {
		return catalog.Registration{}, 0, badRequest{"Address: is required: Vértice has no agent node whose address " +
			"a service could fall back on"}
	}
	if r.Port < 0 || r.Port > 65535 {
		return catalog.Registration{}, 0, badRequest{"Port: " + strconv.Itoa(r.Port) + " must be from 0 to 65535"}
	}
	ttl, status, err := r.lease(id)
	if err != nil {
		return catalog.Registration{}, 0, err
	}
	if err := registry.ValidateTTL(ttl); err != nil {
		return catalog.Registration{}, 0, err
	}
	md := make(map[string]string, len(r.Meta)+1)
	for k, v := range r.Meta {
		md[k] = v
	}
	md[catalog.StatusKey] = status
	return catalog.Registration{ServiceName: r.Name, InstanceID: id, Endpoint: endpointOf(r.Address, r.Port),
		Metadata: md, Tags: r.Tags}, ttl, nil
}

// unique refuses an ID another service's live instance holds.
func (a *api) unique(ctx context.Context, id, service string) error {
	if err := catalog.ValidateInstanceID(id); err != nil {
		return inConsulTerms(err)
	}
	found, err := a.Registry.Locate(ctx, id)
	if err != nil {
		return err
	}
	for _, in := range found {
		if in.ServiceName != service {
			return conflict{"ID: " + strconv.Quote(id) + " is already the ID of an instance of service " +
				strconv.Quote(in.ServiceName) + "; Consul service IDs are unique: deregister it first or choose another ID"}
		}
	}
	return nil
}

// checkUpdate is the body of PUT /v1/agent/check/update/{check}.
type checkUpdate struct {
	Status string
	Output string // ignored: Vértice keeps no check output
}

// updateCheck is PUT /v1/agent/check/{pass,warn,fail,update}/service:{id}:
// a renewal of the instance's lease that also reports its health.
func (a *api) updateCheck(c *gin.Context) {
	status, err := checkStatus(c)
	if err != nil {
		fail(c, err)
		return
	}
	checkID := c.Param("check")
	id, ok := strings.CutPrefix(checkID, "service:")
	if !ok || id == "" {
		fail(c, notFound{"CheckID " + strconv.Quote(checkID) + " is unknown: Vértice knows only each service's TTL check, service:<service ID>"})
		return
	}
	err = a.onInstance(c.Request.Context(), id, func(ctx context.Context, service, id string) error {
		_, err := a.Registry.Report(ctx, service, id, status)
		return err
	})
	if errors.Is(err, ports.ErrNotFound) {
		// The ":1" of a check registered in a Checks list.
		if base, cut := cutIndex(id); cut {
			err = a.onInstance(c.Request.Context(), base, func(ctx context.Context, service, id string) error {
				_, err := a.Registry.Report(ctx, service, id, status)
				return err
			})
		}
	}
	if errors.Is(err, ports.ErrNotFound) {
		err = notFound{"CheckID " + strconv.Quote(checkID) + " is unknown: no live instance has service ID " + strconv.Quote(id) +
			" (never registered, expired or deregistered): register it again"}
	}
	if err != nil {
		fail(c, inConsulTerms(err))
		return
	}
	c.Status(http.StatusOK)
}

// cutIndex cuts the ":N" off "id:N".
func cutIndex(id string) (string, bool) {
	i := strings.LastIndexByte(id, ':')
	if i <= 0 {
		return "", false
	}
	if n, err := strconv.Atoi(id[i+1:]); err != nil || n < 1 {
		return "", false
	}
	return id[:i], true
}

// checkStatus is the status a check update sets: from the verb, or from
// the update's body.
func checkStatus(c *gin.Context) (string, error) {
	verb := strings.TrimPrefix(c.FullPath(), "/v1/agent/check/")
	verb, _, _ = strings.Cut(verb, "/")
	switch verb {
	case "pass":
		return catalog.StatusHealthy, nil
	case "warn":
		return catalog.StatusWarning, nil
	case "fail":
		return catalog.StatusUnhealthy, nil
	}
	var u checkUpdate
	dec := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, ginapi.MaxBodyBytes))
	if err := dec.Decode(&u); err != nil {
		return "", badRequest{`request body: must be {"Status": "passing|warning|critical", "Output": "..."}: ` + err.Error()}
	}
	st, ok := ourStatus[u.Status]
	if !ok {
		return "", badRequest{"Status: " + strconv.Quote(u.Status) + " must be passing, warning or critical"}
	}
	return st, nil
}

// deregister is PUT /v1/agent/service/deregister/{id}.
func (a *api) deregister(c *gin.Context) {
	id := c.Param("id")
	var service string
	err := a.onInstance(c.Request.Context(), id, func(ctx context.Context, svc, id string) error {
		service = svc
		_, err := a.Registry.Deregister(ctx, svc, id)
		return err
	})
	if errors.Is(err, ports.ErrNotFound) {
		err = notFound{"service ID " + strconv.Quote(id) + " is unknown (never registered, expired or deregistered)"}
	}
	if err != nil {
		fail(c, inConsulTerms(err))
		return
	}
	a.ids.forget(id)
	a.Logger.Info("instance deregistered", "service", service, "instance_id", id, "api", "consul")
	c.Status(http.StatusOK)
}

// onInstance runs op on the instance with Consul service ID id: on the
// service remembered for it, or, when that is unknown or no longer
// holds it, on the one service a scan finds it in.
func (a *api) onInstance(ctx context.Context, id string, op func(ctx context.Context, service, id string) error) error {
	if err := catalog.ValidateInstanceID(id); err != nil {
		return err
	}
	if service, ok := a.ids.get(id); ok {
		err := op(ctx, service, id)
		if !errors.Is(err, ports.ErrNotFound) {
			return err
		}
		a.ids.forget(id)
	}
	found, err := a.Registry.Locate(ctx, id)
	if err != nil {
		return err
	}
	switch len(found) {
	case 0:
		return ports.ErrNotFound
	case 1:
	default:
		names := make([]string, len(found))
		for i, in := range found {
			names[i] = strconv.Quote(in.ServiceName)
		}
		return conflict{"service ID " + strconv.Quote(id) + " is held by instances of " + strings.Join(names, " and ") +
			" (registered through the native API); use the native API, which names the service"}
	}
	a.ids.put(id, found[0].ServiceName)
	return op(ctx, found[0].ServiceName, id)
}
