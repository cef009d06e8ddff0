package consulapi

import (
	"maps"
	"net"
	"net/netip"
	"net/url"
	"strconv"

	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/domain/registry"
)

// The answers' shapes, as Consul 1.22 serves them (field names, order and
// JSON types were checked against recorded answers: see the golden test).
// Go field names are Consul's JSON names, so filter expressions
// (go-bexpr, which selects by Go field name) read the same selectors as
// on Consul: Service.Tags, ServiceMeta.version, Node.Datacenter.

// Node is a Consul node. Vértice has no agents: every instance stands on
// a node named after its endpoint's host, the machine it runs on.
type Node struct {
	ID              string
	Node            string
	Address         string
	Datacenter      string
	TaggedAddresses map[string]string
	Meta            map[string]string
	CreateIndex     uint64
	ModifyIndex     uint64
}

// ServiceAddress is one of a service's tagged addresses.
type ServiceAddress struct {
	Address string
	Port    int
}

// Weights are DNS SRV weights; Vértice keeps none, so Consul's defaults.
type Weights struct {
	Passing int
	Warning int
}

// Proxy is an empty Connect proxy configuration (Vértice has no mesh).
type Proxy struct {
	Mode        string
	MeshGateway struct{}
	Expose      struct{}
}

// AgentService is the Service of a health/service entry.
type AgentService struct {
	ID                string
	Service           string
	Tags              []string
	Address           string
	TaggedAddresses   map[string]ServiceAddress
	Meta              map[string]string
	Port              int
	Weights           Weights
	EnableTagOverride bool
	Proxy             Proxy
	Connect           struct{}
	PeerName          string
	CreateIndex       uint64
	ModifyIndex       uint64
}

// HealthCheck is an instance's one check: its lease, as a TTL check.
type HealthCheck struct {
	Node        string
	CheckID     string
	Name        string
	Status      string
	Notes       string
	Output      string
	ServiceID   string
	ServiceName string
	ServiceTags []string
	Type        string
	Interval    string
	Timeout     string
	ExposedPort int
	Definition  struct{}
	CreateIndex uint64
	ModifyIndex uint64
}

// ServiceEntry is one entry of GET /v1/health/service/{name}.
type ServiceEntry struct {
	Node    Node
	Service AgentService
	Checks  []HealthCheck
}

// CatalogService is one entry of GET /v1/catalog/service/{name}.
type CatalogService struct {
	ID                       string
	Node                     string
	Address                  string
	Datacenter               string
	TaggedAddresses          map[string]string
	NodeMeta                 map[string]string
	ServiceKind              string
	ServiceID                string
	ServiceName              string
	ServiceTags              []string
	ServiceAddress           string
	ServiceTaggedAddresses   map[string]ServiceAddress
	ServiceWeights           Weights
	ServiceMeta              map[string]string
	ServicePort              int
	ServicePorts             []ServiceAddress // null: Vértice has one port per instance
	ServiceSocketPath        string
	ServiceEnableTagOverride bool
	ServiceProxy             Proxy
	ServiceConnect           struct{}
	ServiceLocality          *struct{} // null
	CreateIndex              uint64
	ModifyIndex              uint64
}

// Consul's check states.
const (
	Passing  = "passing"
	Warning  = "warning"
	Critical = "critical"
)

// checkStatusOf maps an instance's reported health onto a check state.
func checkStatusOf(in catalog.Instance) string {
	switch registry.StatusOf(in) {
	case catalog.StatusUnhealthy:
		return Critical
	case catalog.StatusWarning:
		return Warning
	}
	return Passing
}

// CheckID is the ID of the check of the instance with Consul service ID
// id, as Consul names the check registered with a service.
func CheckID(id string) string { return "service:" + id }

// instanceView is what the answers need of one instance, worked out once.
type instanceView struct {
	in     catalog.Instance
	index  uint64 // the service's: Vértice keeps no index per instance
	host   string
	port   int
	tags   []string
	meta   map[string]string
	status string
	dc     string
}

func newView(in catalog.Instance, index uint64, dc string) instanceView {
	v := instanceView{in: in, index: index, tags: in.Tags, meta: in.Metadata, status: checkStatusOf(in), dc: dc}
	v.host, v.port = hostPort(in.Endpoint)
	if v.tags == nil {
		v.tags = []string{}
	}
	if _, ok := v.meta[catalog.StatusKey]; ok {
		// The status is the check's Status; as Meta it would also be a
		// label that flips with health (Prometheus's
		// __meta_consul_service_metadata_status).
		v.meta = maps.Clone(v.meta)
		delete(v.meta, catalog.StatusKey)
	}
	if v.meta == nil {
		v.meta = map[string]string{}
	}
	return v
}

// hostPort is the endpoint's host and port, the scheme's default port
// when it names none (Prometheus and Traefik dial Address:Port).
func hostPort(endpoint string) (string, int) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", 0
	}
	if p, err := strconv.Atoi(u.Port()); err == nil {
		return u.Hostname(), p
	}
	if u.Scheme == "https" {
		return u.Hostname(), 443
	}
	return u.Hostname(), 80
}

// nodeAddresses are a node's tagged addresses as Consul fills them: lan
// and wan, plus the _ipv4 or _ipv6 variants for an IP address.
func nodeAddresses(host string) map[string]string {
	m := map[string]string{"lan": host, "wan": host}
	if ip, err := netip.ParseAddr(host); err == nil {
		fam := "_ipv4"
		if ip.Is6() && !ip.Is4In6() {
			fam = "_ipv6"
		}
		m["lan"+fam], m["wan"+fam] = host, host
	}
	return m
}

// serviceAddresses are a service's tagged addresses: Consul fills them
// for IP addresses only.
func serviceAddresses(host string, port int) map[string]ServiceAddress {
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return map[string]ServiceAddress{}
	}
	fam := "_ipv4"
	if ip.Is6() && !ip.Is4In6() {
		fam = "_ipv6"
	}
	a := ServiceAddress{Address: host, Port: port}
	return map[string]ServiceAddress{"lan" + fam: a, "wan" + fam: a}
}

func (v instanceView) node() Node {
	return Node{Node: v.host, Address: v.host, Datacenter: v.dc, TaggedAddresses: nodeAddresses(v.host),
		Meta: map[string]string{}, CreateIndex: v.index, ModifyIndex: v.index}
}

func (v instanceView) check() HealthCheck {
	return HealthCheck{
		Node: v.host, CheckID: CheckID(v.in.InstanceID), Name: "Service '" + v.in.ServiceName + "' check",
		Status: v.status, ServiceID: v.in.InstanceID, ServiceName: v.in.ServiceName, ServiceTags: v.tags,
		Type: "ttl", CreateIndex: v.index, ModifyIndex: v.index,
	}
}

func (v instanceView) entry() ServiceEntry {
	return ServiceEntry{
		Node: v.node(),
		Service: AgentService{
			ID: v.in.InstanceID, Service: v.in.ServiceName, Tags: v.tags, Address: v.host,
			TaggedAddresses: serviceAddresses(v.host, v.port), Meta: v.meta, Port: v.port,
			Weights: Weights{Passing: 1, Warning: 1}, CreateIndex: v.index, ModifyIndex: v.index,
		},
		Checks: []HealthCheck{v.check()},
	}
}

func (v instanceView) catalogService() CatalogService {
	return CatalogService{
		Node: v.host, Address: v.host, Datacenter: v.dc, TaggedAddresses: nodeAddresses(v.host),
		NodeMeta: map[string]string{}, ServiceID: v.in.InstanceID, ServiceName: v.in.ServiceName,
		ServiceTags: v.tags, ServiceAddress: v.host, ServiceTaggedAddresses: serviceAddresses(v.host, v.port),
		ServiceWeights: Weights{Passing: 1, Warning: 1}, ServiceMeta: v.meta, ServicePort: v.port,
		CreateIndex: v.index, ModifyIndex: v.index,
	}
}

// endpointOf is the endpoint a Consul registration names: Consul has no
// scheme, so http; no port (0) is the scheme's default.
func endpointOf(address string, port int) string {
	if port == 0 {
		if ip, err := netip.ParseAddr(address); err == nil && ip.Is6() {
			return "http://[" + address + "]"
		}
		return "http://" + address
	}
	return "http://" + net.JoinHostPort(address, strconv.Itoa(port))
}
