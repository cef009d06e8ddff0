package proxy

// bufferPool recycles the 32 KiB copy buffers of ReverseProxy without the
// allocation sync.Pool needs to box a slice; when the free list is empty or
// full, it simply allocates or drops.
type bufferPool struct{ free chan []byte }

const copyBufferSize = 32 << 10

func newBufferPool(n int) *bufferPool { return &bufferPool{free: make(chan []byte, n)} }

func (p *bufferPool) Get() []byte {
	select {
	case b := <-p.free:
		return b
	default:
		return make([]byte, copyBufferSize)
	}
}

func (p *bufferPool) Put(b []byte) {
	if cap(b) != copyBufferSize {
		return
	}
	select {
	case p.free <- b[:copyBufferSize]:
	default:
	}
}
