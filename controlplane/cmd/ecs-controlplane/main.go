// Command ecs-controlplane runs the local ECS control plane: the ECS JSON 1.1 API, the
// ACS websocket and a TCS sink on one loopback listener.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/controlplane"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ecs-controlplane:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:51700", "address to listen on")
	region := flag.String("region", controlplane.DefaultRegion, "region in ARNs")
	account := flag.String("account", controlplane.DefaultAccount, "account ID in ARNs")
	snapshot := flag.String("snapshot", "", "state file kept across restarts (optional)")
	allowUnsigned := flag.Bool("allow-unsigned", false, "accept requests without a valid SigV4 signature")
	allowRemote := flag.Bool("allow-non-loopback", false, "allow listening on an address that is not loopback")
	heartbeat := flag.Duration("heartbeat", controlplane.DefaultHeartbeatInterval, "ACS heartbeat interval")
	payloadRetry := flag.Duration("payload-retry", controlplane.DefaultPayloadRetryInterval, "re-send an unacknowledged ACS payload after this long")
	manifest := flag.Duration("manifest-interval", controlplane.DefaultManifestInterval, "ACS TaskManifestMessage interval (one is also sent on every connect)")
	accessKey := flag.String("access-key", controlplane.DevAccessKey, "accepted AWS access key ID")
	secretKey := flag.String("secret-key", controlplane.DevSecretKey, "secret of the accepted access key")
	credsDuration := flag.Duration("credentials-duration", controlplane.DefaultCredentialsDuration, "lifetime of the task role credentials handed to agents (at least 1m)")
	stsEndpoint := flag.String("sts-endpoint", "", "mint task role credentials with AssumeRole at this STS URL (default: invent them)")
	loglevel := flag.String("loglevel", "info", "log level: debug, info, warn, error")
	healthcheck := flag.Bool("healthcheck", false, "exit 0 when the control plane listening on --listen answers, 1 when not (for container health checks)")
	flag.Parse()
	if *healthcheck {
		return checkHealth(*listen)
	}

	level, err := zerolog.ParseLevel(*loglevel)
	if err != nil {
		return fmt.Errorf("--loglevel %q: %w", *loglevel, err)
	}
	if err := controlplane.CheckCredentialsDuration(*credsDuration); err != nil {
		return fmt.Errorf("--credentials-duration: %w", err)
	}
	log := zerolog.New(os.Stdout).Level(level).With().Timestamp().Logger()

	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return fmt.Errorf("--listen %q: %w", *listen, err)
	}
	if ip := net.ParseIP(host); !*allowRemote && (ip == nil && host != "localhost" || ip != nil && !ip.IsLoopback()) {
		return fmt.Errorf("--listen %q is not a loopback address (use --allow-non-loopback to insist)", *listen)
	}

	srv, err := controlplane.New(controlplane.Config{
		Region:               *region,
		Account:              *account,
		Credentials:          map[string]string{*accessKey: *secretKey},
		AllowUnsigned:        *allowUnsigned,
		HeartbeatInterval:    *heartbeat,
		PayloadRetryInterval: *payloadRetry,
		ManifestInterval:     *manifest,
		CredentialsDuration:  *credsDuration,
		STSEndpoint:          *stsEndpoint,
		SnapshotPath:         *snapshot,
		Logger:               log,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	httpSrv := &http.Server{Handler: srv, ReadHeaderTimeout: 30 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()
	log.Info().Str("listen", ln.Addr().String()).Str("region", *region).Bool("allow_unsigned", *allowUnsigned).Msg("control plane listening")

	select {
	case err = <-errc:
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = httpSrv.Shutdown(shutdownCtx)
	}
	closeErr := srv.Close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return errors.Join(err, closeErr)
}

// checkHealth asks the control plane on addr for its cluster list; any HTTP answer
// below 500 (a refused signature included) means it answers.
func checkHealth(addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/", nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		return fmt.Errorf("unhealthy: %s answers %s", addr, resp.Status)
	}
	fmt.Println("ecs-controlplane: healthy")
	return nil
}
