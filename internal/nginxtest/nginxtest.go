// Package nginxtest starts throwaway nginx servers configured as Bazel-protocol
// HTTP caches (WebDAV PUT into a directory) on a random loopback port, for the
// remote-cache tests and benchmarks. Each server lives entirely in its own
// directory: config, pid file, logs, request-body temp files and the stored
// objects; no system configuration is read or touched.
//
// The nginx binary comes from Debian's package (see .ci/nginx.sh). When it is
// missing, Start returns ErrNoNginx and StartTB skips the test.
package nginxtest

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ErrNoNginx reports that no nginx binary was found.
var ErrNoNginx = errors.New("nginx not installed (run: bash .ci/nginx.sh)")

// Server is one running nginx.
type Server struct {
	// URL is the server's base URL, e.g. "http://127.0.0.1:41234".
	URL string
	// Root is the directory nginx serves and stores into: an object PUT to
	// /cas/<digest> lands in Root/cas/<digest>.
	Root string
	// Dir holds the config, logs and pid file.
	Dir string

	cmd      *exec.Cmd
	stopOnce sync.Once
	stopErr  error
	exited   chan struct{}
}

// Binary returns the path of the nginx binary, or ErrNoNginx.
func Binary() (string, error) {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p, nil
	}
	// /usr/sbin is often not on a non-root PATH.
	for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", ErrNoNginx
}

// config is the recipe from shared/notes/nginx-webdav-cache.md. "user root"
// matters when running as root: otherwise the workers drop to an
// unprivileged user that cannot read a 0700 temp directory and every
// request fails with 403/500. Not being root, nginx ignores it with a
// warning, so it is only written for root.
const config = `%s
daemon off;
master_process on;
worker_processes 2;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path %[2]s/body;
  proxy_temp_path %[2]s/proxy;
  fastcgi_temp_path %[2]s/fastcgi;
  uwsgi_temp_path %[2]s/uwsgi;
  scgi_temp_path %[2]s/scgi;
  keepalive_requests 100000;
  server {
    listen 127.0.0.1:%[3]d;
    root %[4]s;
    location / {
      %[5]s
      dav_methods PUT DELETE MKCOL;
      create_full_put_path on;
      client_max_body_size 1g;
    }
  }
}
`

// Options configure a server.
type Options struct {
	// UploadUser and UploadPassword, when set, protect every method but GET
	// and HEAD with HTTP basic auth (limit_except + auth_basic): anyone may
	// read, only holders of the password may write, as in
	// docs/remote-cache.md.
	UploadUser, UploadPassword string
}

// Start starts nginx with its files under dir (created if needed) and waits
// until it answers HTTP. The caller must Stop it.
func Start(dir string) (*Server, error) { return StartWith(dir, Options{}) }

// StartWith is Start with options.
func StartWith(dir string, opts Options) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	root := filepath.Join(dir, "store")
	for _, d := range []string{root, filepath.Join(dir, "body")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("nginxtest: %w", err)
		}
	}
	auth := ""
	if opts.UploadUser != "" {
		// {PLAIN} keeps the test free of a hashing tool; use a real
		// hash (htpasswd -B) on a server.
		pw := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(pw, []byte(opts.UploadUser+":{PLAIN}"+opts.UploadPassword+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("nginxtest: %w", err)
		}
		auth = fmt.Sprintf(`limit_except GET HEAD { auth_basic "cmdt cache uploads"; auth_basic_user_file %s; }`, pw)
	}
	// Picking a free port and handing it to nginx races with other
	// processes taking it in between; retry a few times on that.
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		s, err := startOnce(bin, dir, root, auth)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if !strings.Contains(err.Error(), "Address already in use") {
			break
		}
	}
	return nil, lastErr
}

func startOnce(bin, dir, root, auth string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("nginxtest: free port: %w", err)
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(config, user, dir, port, root, auth)), 0o644); err != nil {
		return nil, fmt.Errorf("nginxtest: %w", err)
	}
	errLog := filepath.Join(dir, "error.log")
	os.Remove(errLog)
	// -p and -e keep nginx from touching its compiled-in prefix and
	// /var/log/nginx/error.log before it has read our config.
	cmd := exec.Command(bin, "-p", dir, "-e", errLog, "-c", conf)
	cmd.Stdout, cmd.Stderr = nil, nil
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("nginxtest: start %s: %w", bin, err)
	}
	s := &Server{
		URL:    fmt.Sprintf("http://127.0.0.1:%d", port),
		Root:   root,
		Dir:    dir,
		cmd:    cmd,
		exited: make(chan struct{}),
	}
	go func() { cmd.Wait(); close(s.exited) }()
	if err := s.waitReady(10 * time.Second); err != nil {
		s.Stop()
		logText, _ := os.ReadFile(errLog)
		return nil, fmt.Errorf("nginxtest: nginx did not come up: %w; error.log:\n%s", err, logText)
	}
	return s, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-s.exited:
			return errors.New("nginx exited")
		default:
		}
		// Any HTTP answer (404 for a missing object) means it serves.
		resp, err := client.Head(s.URL + "/__ready")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// PID returns the nginx master's process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Stop stops the server (fast shutdown, by its PID) and waits for it to
// exit; connections still open are closed. It is safe to call twice.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		select {
		case <-s.exited:
			return
		default:
		}
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			// Kill the group we created for it: master and workers.
			syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.exited
			s.stopErr = errors.New("nginxtest: nginx did not stop on SIGTERM; killed")
		}
	})
	return s.stopErr
}

// StartTB starts a server in a temporary directory of tb and stops it when
// the test ends. When nginx is not installed the test is skipped, except
// under CI=true, where it fails.
func StartTB(tb testing.TB) *Server {
	tb.Helper()
	return StartTBWith(tb, Options{})
}

// StartTBWith is StartTB with options.
func StartTBWith(tb testing.TB, opts Options) *Server {
	tb.Helper()
	if _, err := Binary(); err != nil {
		// In CI a skip would hide a missing install step: fail instead.
		if os.Getenv("CI") == "true" {
			tb.Fatalf("CI=true but %v", err)
		}
		tb.Skipf("skipping: %v", err)
	}
	s, err := StartWith(tb.TempDir(), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil {
			tb.Error(err)
		}
	})
	return s
}
