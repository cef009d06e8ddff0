package ginapi

import (
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/vertice/vertice/domain/catalog"
)

// The hot answers (register, heartbeat, lookup) are written by hand into a
// pooled buffer rather than through c.JSON, whose encoding/json walks the
// instanceJSON and lookupJSON types by reflection on every request. The
// bytes are the same as json.Marshal's of those types (field order,
// omitempty, sorted metadata keys, HTML-safe string escaping, float
// formatting); TestHandWrittenJSONMatchesEncodingJSON holds them to it.

// jsonContentType is what c.JSON sets (gin's render.JSON).
var jsonContentType = []string{"application/json; charset=utf-8"}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// writeJSON answers status (one that allows a body) with body as c.JSON
// would: the same Content-Type, unless a handler set one, then the bytes.
func writeJSON(c *gin.Context, status int, body []byte) {
	c.Status(status)
	h := c.Writer.Header()
	if len(h["Content-Type"]) == 0 {
		h["Content-Type"] = jsonContentType
	}
	_, _ = c.Writer.Write(body)
}

// renderInstance answers one instance (register, heartbeat).
func renderInstance(c *gin.Context, status int, in catalog.Instance, now time.Time) {
	bp := bufPool.Get().(*[]byte)
	b := appendInstance((*bp)[:0], in, now, true)
	writeJSON(c, status, b)
	*bp = b
	bufPool.Put(bp)
}

// renderLookupJSON answers a lookup: lookupJSON's bytes.
func renderLookupJSON(c *gin.Context, list []catalog.Instance, now time.Time) {
	bp := bufPool.Get().(*[]byte)
	b := appendLookup((*bp)[:0], list, now)
	writeJSON(c, http.StatusOK, b)
	*bp = b
	bufPool.Put(bp)
}

func appendLookup(b []byte, list []catalog.Instance, now time.Time) []byte {
	b = appendInstanceFields(b, list[0], now, false)
	if len(list) > 1 {
		b = append(b, `,"instances":[`...)
		for i, in := range list {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendInstance(b, in, now, true)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func appendInstance(b []byte, in catalog.Instance, now time.Time, withID bool) []byte {
	return append(appendInstanceFields(b, in, now, withID), '}')
}

// appendInstanceFields writes instanceJSON without its closing brace.
func appendInstanceFields(b []byte, in catalog.Instance, now time.Time, withID bool) []byte {
	b = append(b, `{"service_name":`...)
	b = appendString(b, in.ServiceName)
	if withID && in.InstanceID != "" {
		b = append(b, `,"instance_id":`...)
		b = appendString(b, in.InstanceID)
	}
	b = append(b, `,"endpoint":`...)
	b = appendString(b, in.Endpoint)
	b = append(b, `,"health_endpoint":`...)
	b = appendString(b, in.HealthEndpoint)
	b = append(b, `,"metadata":`...)
	b = appendMetadata(b, in.Metadata)
	b = append(b, `,"registered_at":`...)
	b = appendFloat(b, unixSeconds(in.RegisteredAt))
	b = append(b, `,"last_heartbeat":`...)
	b = appendFloat(b, unixSeconds(in.LastHeartbeat))
	b = append(b, `,"ttl_remaining":`...)
	return strconv.AppendInt(b, int64(in.TTLRemaining(now)), 10)
}

// appendMetadata writes a map as encoding/json does: keys sorted; nil as
// {} (render's rule, not encoding/json's null).
func appendMetadata(b []byte, md map[string]string) []byte {
	b = append(b, '{')
	switch len(md) {
	case 0:
	case 1:
		for k, v := range md {
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, v)
		}
	default:
		var arr [8]string
		keys := arr[:0]
		for k := range md {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, md[k])
		}
	}
	return append(b, '}')
}

// appendFloat formats as encoding/json does a float64 (ES6 number style).
func appendFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendString quotes s as encoding/json does with HTML escaping on (its
// default, and c.JSON's): <, > and & as \u003c..., control characters
// escaped, invalid UTF-8 as \ufffd, U+2028 and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
