// Package gsmtables makes github.com/warthog618/sms safe to use from
// several goroutines. The library builds its GSM 7-bit character tables
// lazily, on first use, into package variables and without a lock: two
// goroutines encoding or decoding for the first time at once race (the
// race detector caught the modem simulator and the modem doing it). Ready
// builds every table once, before anything runs concurrently.
package gsmtables

import (
	"sync"

	"github.com/warthog618/sms/encoding/gsm7/charset"
)

// built guards the library's own lazy initialisation; it is the one piece
// of process-wide state here, mirroring the library's.
var built sync.Once

// Ready builds every table the library can build lazily. Call it before
// encoding or decoding SMS in code that may run concurrently; it is cheap
// after the first call.
func Ready() {
	built.Do(func() {
		charset.DefaultDecoder()
		charset.DefaultExtDecoder()
		charset.DefaultEncoder()
		charset.DefaultExtEncoder()
		for nli := charset.Start; nli < charset.End; nli++ {
			charset.NewDecoder(nli)
			charset.NewExtDecoder(nli)
			charset.NewEncoder(nli)
			charset.NewExtEncoder(nli)
		}
	})
}
