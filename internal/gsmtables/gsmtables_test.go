package gsmtables

import (
	"sync"
	"testing"

	"github.com/warthog618/sms"
	"github.com/warthog618/sms/encoding/tpdu"
)

// Run with -race: this is the package's first use of the library, so
// without Ready the goroutines below would build its tables concurrently.
func TestReadyLetsGoroutinesShareTheLibrary(t *testing.T) {
	Ready()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pdus, err := sms.Encode([]byte("Grüße {up} 45m ğş"), sms.WithAllCharsets)
			if err != nil {
				t.Error(err)
				return
			}
			segs := make([]*tpdu.TPDU, len(pdus))
			for i := range pdus {
				segs[i] = &pdus[i]
			}
			if txt, err := sms.Decode(segs); err != nil || string(txt) != "Grüße {up} 45m ğş" {
				t.Errorf("round trip: %q, %v", txt, err)
			}
		}()
	}
	wg.Wait()
}
