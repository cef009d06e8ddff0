package ginapi

import (
	"bytes"
	"io"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"
)

// The write endpoints' bodies are small, flat and nearly always plain:
// one object of known keys whose values are strings of printable ASCII
// without escapes (and, for metadata, an object of such strings). Such a
// body is parsed by hand; any other body, valid or not, goes to the
// strict encoding/json decoder over the same bytes followed by the same
// read error, so its answers and error messages are unchanged.
// TestFastDecodeMatchesEncodingJSON holds the two to the same result.

var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readBody reads the body up to MaxBodyBytes into a pooled buffer (give it
// back with putBody once nothing refers to its bytes). err is the
// read's error (an *http.MaxBytesError past the limit), to be replayed
// after the data.
func readBody(c *gin.Context) (buf *bytes.Buffer, err error) {
	buf = bodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	_, err = buf.ReadFrom(http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodyBytes))
	return buf, err
}

// putBody returns buf to the pool unless an oversized body grew it.
func putBody(buf *bytes.Buffer) {
	if buf.Cap() <= 16<<10 {
		bodyPool.Put(buf)
	}
}

// decodeRegister decodes POST /register's body as decodeFrom would.
func decodeRegister(c *gin.Context, into *registerBody) error {
	buf, rerr := readBody(c)
	defer putBody(buf)
	if rerr == nil && fastRegister(buf.Bytes(), into) {
		return nil
	}
	*into = registerBody{}
	return decodeFrom(replay(buf.Bytes(), rerr), into)
}

// decodeHeartbeat decodes POST /heartbeat's body as decodeFrom would.
func decodeHeartbeat(c *gin.Context, into *heartbeatBody) error {
	buf, rerr := readBody(c)
	defer putBody(buf)
	if rerr == nil && fastHeartbeat(buf.Bytes(), into) {
		return nil
	}
	*into = heartbeatBody{}
	return decodeFrom(replay(buf.Bytes(), rerr), into)
}

// replay yields data, then err (io.EOF when nil).
func replay(data []byte, err error) io.Reader {
	if err == nil {
		return bytes.NewReader(data)
	}
	return io.MultiReader(bytes.NewReader(data), errReader{err})
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func fastRegister(data []byte, into *registerBody) bool {
	var seen [5]bool
	return fastObject(data, func(key string, p *parser) bool {
		var i int
		var dst *string
		switch key {
		case "service_name":
			i, dst = 0, &into.ServiceName
		case "instance_id":
			i, dst = 1, &into.InstanceID
		case "endpoint":
			i, dst = 2, &into.Endpoint
		case "health_endpoint":
			i, dst = 3, &into.HealthEndpoint
		case "metadata":
			if seen[4] {
				return false
			}
			seen[4] = true
			md, ok := p.stringMap()
			into.Metadata = md
			return ok
		default:
			return false
		}
		if seen[i] {
			return false
		}
		seen[i] = true
		v, ok := p.str()
		*dst = v
		return ok
	})
}

func fastHeartbeat(data []byte, into *heartbeatBody) bool {
	var seen [2]bool
	return fastObject(data, func(key string, p *parser) bool {
		var i int
		var dst *string
		switch key {
		case "service_name":
			i, dst = 0, &into.ServiceName
		case "instance_id":
			i, dst = 1, &into.InstanceID
		default:
			return false
		}
		if seen[i] {
			return false
		}
		seen[i] = true
		v, ok := p.str()
		*dst = v
		return ok
	})
}

// fastObject parses data as one object, handing each key to field (which
// parses the value), with only whitespace around it.
func fastObject(data []byte, field func(key string, p *parser) bool) bool {
	p := parser{data: data}
	p.space()
	if !p.byte('{') {
		return false
	}
	p.space()
	if !p.byte('}') {
		for {
			p.space()
			key, ok := p.str()
			if !ok {
				return false
			}
			p.space()
			if !p.byte(':') {
				return false
			}
			p.space()
			if !field(key, &p) {
				return false
			}
			p.space()
			if p.byte('}') {
				break
			}
			if !p.byte(',') {
				return false
			}
		}
	}
	p.space()
	return p.i == len(p.data)
}

type parser struct {
	data []byte
	i    int
}

func (p *parser) space() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) byte(b byte) bool {
	if p.i < len(p.data) && p.data[p.i] == b {
		p.i++
		return true
	}
	return false
}

// str reads a string of printable ASCII without escapes.
func (p *parser) str() (string, bool) {
	if !p.byte('"') {
		return "", false
	}
	start := p.i
	for ; p.i < len(p.data); p.i++ {
		switch c := p.data[p.i]; {
		case c == '"':
			s := string(p.data[start:p.i])
			p.i++
			return s, true
		case c < 0x20 || c > 0x7e || c == '\\':
			return "", false
		}
	}
	return "", false
}

// stringMap reads an object of str values with distinct keys.
func (p *parser) stringMap() (map[string]string, bool) {
	if !p.byte('{') {
		return nil, false
	}
	md := map[string]string{}
	p.space()
	if p.byte('}') {
		return md, true
	}
	for {
		p.space()
		k, ok := p.str()
		if !ok {
			return nil, false
		}
		p.space()
		if !p.byte(':') {
			return nil, false
		}
		p.space()
		v, ok := p.str()
		if !ok {
			return nil, false
		}
		if _, dup := md[k]; dup {
			return nil, false
		}
		md[k] = v
		p.space()
		if p.byte('}') {
			return md, true
		}
		if !p.byte(',') {
			return nil, false
		}
	}
}
