// Package h2raw writes HTTP/2 frames by hand, for tests that play a client
// no HTTP/2 library lets misbehave: one that never opens its flow-control
// windows, or never reads its socket.
package h2raw

import "encoding/binary"

// Preface is what a client sends first on a connection (RFC 9113 §3.4).
const Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// Frame types and flags the tests send.
const (
	TypeHeaders      = 0x1
	TypeSettings     = 0x4
	TypeWindowUpdate = 0x8

	FlagEndStream  = 0x1
	FlagEndHeaders = 0x4
)

// Frame is one HTTP/2 frame (RFC 9113 §4.1).
func Frame(typ, flags byte, stream uint32, payload []byte) []byte {
	b := make([]byte, 9, 9+len(payload))
	b[0], b[1], b[2] = byte(len(payload)>>16), byte(len(payload)>>8), byte(len(payload))
	b[3], b[4] = typ, flags
	binary.BigEndian.PutUint32(b[5:], stream)
	return append(b, payload...)
}

// InitialWindow is a SETTINGS frame setting SETTINGS_INITIAL_WINDOW_SIZE
// (4) to size: 0 takes no answer's body, 1<<31-1 takes all.
func InitialWindow(size uint32) []byte {
	return Frame(TypeSettings, 0, 0, binary.BigEndian.AppendUint32([]byte{0, 4}, size))
}

// GET is the header block of a GET of path over https at authority, as
// HPACK literals without indexing or Huffman coding (RFC 7541 §6.2.2),
// for names and values under 127 bytes.
func GET(authority, path string) []byte {
	var b []byte
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", authority}, {":path", path}} {
		b = append(b, 0, byte(len(f[0])))
		b = append(b, f[0]...)
		b = append(b, byte(len(f[1])))
		b = append(b, f[1]...)
	}
	return b
}

// Requests is streams GETs of path, on streams 1, 3, 5…, each a HEADERS
// frame that ends its stream.
func Requests(authority, path string, streams int) []byte {
	headers := GET(authority, path)
	var out []byte
	for i := range streams {
		out = append(out, Frame(TypeHeaders, FlagEndHeaders|FlagEndStream, uint32(2*i+1), headers)...)
	}
	return out
}
