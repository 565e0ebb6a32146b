package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	_ "github.com/go-sql-driver/mysql" // the baseline's MySQL driver, as stepsd's
)

// envBaselineDSN carries the baseline's driver DSN, which may hold a
// password, out of its command line.
const envBaselineDSN = "STEPSBENCH_BASELINE_DSN"

// newBaselineCmd is the hidden "stepsbench baseline-server": the smallest
// honest server doing stepsd's ingest job, which the harness runs as a
// subprocess of its own binary, as it runs stepsd.
func newBaselineCmd() *cobra.Command {
	var listen, driver string
	var maxConns int
	cmd := &cobra.Command{
		Use:    "baseline-server --listen ADDR --driver NAME (DSN in $" + envBaselineDSN + ")",
		Short:  "Serve POST /v1/steps with one prepared INSERT per request (the ingest baseline)",
		Hidden: true,
		Args:   usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			dsn := os.Getenv(envBaselineDSN)
			if dsn == "" || listen == "" || driver == "" {
				return usageError{fmt.Errorf("baseline-server needs --listen, --driver and $%s", envBaselineDSN)}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return serveBaseline(ctx, listen, driver, dsn, maxConns)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "address to listen on")
	cmd.Flags().StringVar(&driver, "driver", "", "database/sql driver: mysql or sqlite")
	cmd.Flags().IntVar(&maxConns, "max-conns", 0, "database connections (default: 64 on MySQL, one per client up to c=64; 1 on SQLite, its one writer)")
	return cmd
}

// baselineInsert fills the columns stepsd fills for a step without an
// idempotency key; the table is stepsd's own, made by "stepsd migrate".
const baselineInsert = `INSERT INTO steps (component, version, owner, status, environment, time, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)`

// serveBaseline serves until ctx ends.
func serveBaseline(ctx context.Context, listen, driver, dsn string, maxConns int) error {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if maxConns <= 0 {
		// SQLite has one writer: one connection queues writes in
		// database/sql instead of spinning on the busy timeout.
		maxConns = 64
		if driver != "mysql" {
			maxConns = 1
		}
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	insert, err := db.PrepareContext(ctx, baselineInsert)
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	defer insert.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
	mux.Handle("POST /v1/steps", baselineHandler(insert))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// baselineStep is the baseline's answer: the stored step, as stepsd's.
type baselineStep struct {
	ID          int64     `json:"id"`
	Component   string    `json:"component"`
	Version     string    `json:"version"`
	Owner       string    `json:"owner"`
	Status      string    `json:"status"`
	Environment string    `json:"environment"`
	Time        time.Time `json:"time"`
	ReceivedAt  time.Time `json:"received_at"`
}

// baselineHandler records one step from the query string: the required
// fields checked (present, valid UTF-8, within the column sizes), one
// INSERT, 201 with the step as JSON. Errors are answered in plain text,
// with the database's message, so the harness can count "locked" ones.
func baselineHandler(insert *sql.Stmt) http.Handler {
	fields := []struct {
		name     string
		required bool
		max      int
	}{{"component", true, 128}, {"version", true, 128}, {"owner", true, 128}, {"status", true, 64}, {"environment", false, 64}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var v [5]string
		for i, f := range fields {
			v[i] = q.Get(f.name)
			if (f.required && v[i] == "") || !utf8.ValidString(v[i]) || utf8.RuneCountInString(v[i]) > f.max {
				http.Error(w, f.name+" is missing or invalid", http.StatusBadRequest)
				return
			}
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		ts := now.Format("2006-01-02 15:04:05.000000")
		res, err := insert.ExecContext(r.Context(), v[0], v[1], v[2], v[3], v[4], ts, ts)
		if err != nil {
			http.Error(w, "insert: "+err.Error(), http.StatusInternalServerError)
			return
		}
		id, err := res.LastInsertId()
		if err != nil {
			http.Error(w, "insert id: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Location", "/v1/steps/"+strconv.FormatInt(id, 10))
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(baselineStep{ID: id, Component: v[0], Version: v[1], Owner: v[2], Status: v[3], //nolint:errcheck // the client may have gone
			Environment: v[4], Time: now, ReceivedAt: now})
	})
}
