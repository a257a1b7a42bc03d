package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"time"

	"golang.org/x/net/netutil"
)

// The server's limits: a monitor's request is small and quick, and a
// client that holds a connection open must not pile up goroutines and
// descriptors on a small box for months.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 10 * time.Second
	idleTimeout       = 60 * time.Second
	maxConns          = 16
	shutdownTimeout   = 2 * time.Second
)

// Handler serves the checks of c on what input returns at each request:
// GET /healthz (every check) and GET /healthz/NAME (one check; 404 for a
// name not in Names). Both answer 200 when the checks shown pass and 503
// otherwise, with a Report as JSON. metrics, when not nil, serves
// /metrics.
func Handler(c *Checker, input func() Input, metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeReport(w, c.Check(input()))
	})
	mux.HandleFunc("GET /healthz/{name}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		if !slices.Contains(Names(), name) {
			writeJSON(w, http.StatusNotFound, struct {
				Error string `json:"error"`
			}{fmt.Sprintf("no check named %q", name)})
			return
		}
		rep := c.Check(input())
		for _, ch := range rep.Checks {
			if ch.Name == name {
				writeReport(w, Report{OK: ch.OK, Checks: []Check{ch}})
				return
			}
		}
	})
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	return mux
}

func writeReport(w http.ResponseWriter, rep Report) {
	code := http.StatusOK
	if !rep.OK {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, rep)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, "health: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// ListenAndServe serves h on addr until ctx ends, then shuts down
// (giving requests in flight a moment). It returns nil after ctx ends.
func ListenAndServe(ctx context.Context, addr string, h http.Handler, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("health: listen %s: %w", addr, err)
	}
	return serve(ctx, ln, h, log)
}

// serve serves h on ln (which it closes) until ctx ends.
func serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := newServer(h, log)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			srv.Close() // requests still running after the grace time
		}
	}()
	err := srv.Serve(netutil.LimitListener(ln, maxConns))
	cancel()
	<-stopped
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("health: %w", err)
}

// newServer is the http.Server with the limits above.
func newServer(h http.Handler, log *slog.Logger) *http.Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
