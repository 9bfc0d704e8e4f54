package lsp

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/protocol"
)

// Cancelling a run of `sleep 30`, three ways: the progress's cancel
// button, $/cancelRequest of the executeCommand request, and the
// cmdt.cancel command (the ■ Cancel lens). Each time the progress ends,
// the request is answered and the sleep process is gone within a second.
func TestCancelRunKillsProcess(t *testing.T) {
	for _, how := range []string{"workDoneProgress/cancel", "$/cancelRequest", "cmdt.cancel"} {
		t.Run(strings.TrimPrefix(how, "$/"), func(t *testing.T) {
			dir := workspaceDir(t, nil)
			// A unique argument marks the process in /proc.
			marker := fmt.Sprintf("30.%06d", time.Now().UnixNano()%1000000)
			src := "$ echo before\n1 before\n\n$ sleep " + marker + "\n\n$ echo never\n"
			writeFiles(t, dir, map[string]string{"slow.cmdt": src})
			c := newTestClient(t)
			c.initialize(dir, editorCaps)
			u := pathURI(filepath.Join(dir, "slow.cmdt"))
			c.open(u, "cmdt", src)
			c.waitDiagnostics(u, 1)

			id, errc := c.callAsync(protocol.MethodWorkspaceExecuteCommand, map[string]interface{}{"command": CommandRun, "arguments": []string{string(u)}})
			var token string
			c.waitUntil("the sleep to start and progress to report it", func() bool {
				for _, ev := range c.progressEvents() {
					if ev.kind == "report" && ev.message == "command 2 of 3" {
						token = ev.token
					}
				}
				return token != "" && len(processesWith("sleep\x00"+marker)) > 0
			})
			// The queue is free while it runs: status and lenses answer.
			if st := c.status(u); st.Status != StatusUnknown || st.Text != "running: command 2 of 3" {
				t.Errorf("status while running = %+v", st)
			}
			if got := lensTitles(c.lenses(u)); len(got) != 4 || got[0] != "▶ Run · running: command 2 of 3" || got[3] != LensCancel {
				t.Errorf("lenses while running = %q", got)
			}

			start := time.Now()
			switch how {
			case "workDoneProgress/cancel":
				c.notify(protocol.MethodWorkDoneProgressCancel, map[string]json.RawMessage{"token": json.RawMessage(token)})
			case "$/cancelRequest":
				c.notify(protocol.MethodCancelRequest, map[string]int32{"id": id})
			case "cmdt.cancel":
				var res map[string]bool
				c.mustCall(protocol.MethodWorkspaceExecuteCommand, map[string]interface{}{"command": CommandCancel, "arguments": []string{string(u)}}, &res)
				if !res["cancelled"] {
					t.Errorf("cmdt.cancel = %v", res)
				}
			}
			var err error
			select {
			case err = <-errc:
			case <-time.After(callTimeout):
				t.Fatal("the run request was not answered after cancelling")
			}
			answered := time.Since(start)
			c.waitUntil("the progress end", func() bool {
				for _, ev := range c.progressEvents() {
					if ev.token == token && ev.kind == "end" {
						return true
					}
				}
				return false
			})
			ended := time.Since(start)
			left := processesWith("sleep\x00" + marker)
			t.Logf("cancel via %s: answered after %s, progress ended after %s, processes left: %v", how, answered, ended, left)
			if len(left) > 0 || ended > time.Second || answered > time.Second {
				t.Errorf("after cancelling: %d process(es) left, answered in %s, progress ended in %s (want none, ≤ 1 s)", len(left), answered, ended)
			}
			if how == "$/cancelRequest" {
				if rpcCode(err) != protocol.CodeRequestCancelled {
					t.Errorf("cancelled request answered %v, want RequestCancelled", err)
				}
			} else if err != nil {
				t.Errorf("run answered %v, want a cancelled outcome", err)
			}
			// The first command's result stays; the killed one has none.
			hs := c.hints(u)
			if h := hintsOn(hs, 0); len(h) != 2 || !strings.HasPrefix(h[1], "✓ ") || len(hintsOn(hs, 3)) != 0 {
				t.Errorf("hints after cancelling = %+v", hs)
			}
			if st := c.status(u); st.Status == StatusUnknown {
				t.Errorf("status after cancelling = %+v", st)
			}
		})
	}
}

// Nothing runs on open or save by default; runOnSave turns running on
// save on.
func TestNothingRunsOnOpenOrSave(t *testing.T) {
	dir := workspaceDir(t, nil)
	src := "$ touch ran.marker\n"
	writeFiles(t, dir, map[string]string{"side.cmdt": src})
	c := newTestClient(t)
	c.initialize(dir, editorCaps)
	u := pathURI(filepath.Join(dir, "side.cmdt"))
	c.open(u, "cmdt", src)
	c.waitDiagnostics(u, 1)
	c.lenses(u)
	c.hints(u)
	c.status(u)
	c.save(u)
	c.status(u)
	time.Sleep(500 * time.Millisecond)
	marker := filepath.Join(dir, "ran.marker")
	if fileExists(marker) || len(c.progressEvents()) > 0 {
		t.Fatalf("something ran on open or save: marker %v, progress %+v", fileExists(marker), c.progressEvents())
	}

	c.notify(protocol.MethodWorkspaceDidChangeConfiguration, map[string]interface{}{"settings": map[string]interface{}{"cmdt": map[string]bool{"runOnSave": true}}})
	c.save(u)
	c.waitUntil("runOnSave to run the transcript", func() bool { return fileExists(marker) })
	c.waitUntil("the status after the run", func() bool { return c.status(u).Status == StatusFresh })
}

// Two requests to run the same text share one run: a client that runs on
// save and the server's runOnSave do not run a transcript twice.
func TestSameRunJoins(t *testing.T) {
	dir := workspaceDir(t, nil)
	src := "$ echo x >> count.txt; sleep 0.3\n"
	c := newTestClient(t)
	c.initialize(dir, editorCaps)
	u := pathURI(filepath.Join(dir, "t.cmdt"))
	c.open(u, "cmdt", src)
	args := map[string]interface{}{"command": CommandRunNoCache, "arguments": []string{string(u)}}
	_, e1 := c.callAsync(protocol.MethodWorkspaceExecuteCommand, args)
	_, e2 := c.callAsync(protocol.MethodWorkspaceExecuteCommand, args)
	for _, e := range []<-chan error{e1, e2} {
		if err := <-e; err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "count.txt")); string(got) != "x\n" {
		t.Errorf("count.txt = %q: the transcript ran more than once", got)
	}
}

// A client that sends its own workDoneToken with executeCommand gets the
// progress on it, and no window/workDoneProgress/create.
func TestClientProgressToken(t *testing.T) {
	dir := workspaceDir(t, nil)
	c := newTestClient(t)
	c.initialize(dir, editorCaps)
	u := pathURI(filepath.Join(dir, "t.cmdt"))
	c.open(u, "cmdt", "$ echo a\n1 a\n")
	var out RunOutcome
	c.mustCall(protocol.MethodWorkspaceExecuteCommand, map[string]interface{}{
		"command": CommandRunNoCache, "arguments": []string{string(u)}, "workDoneToken": 7}, &out)
	if out.Status != OutcomePassed {
		t.Fatalf("run = %+v", out)
	}
	c.waitUntil("the progress end on token 7", func() bool {
		evs := c.progressEvents()
		return len(evs) > 0 && evs[len(evs)-1].kind == "end" && evs[len(evs)-1].token == "7" && evs[0].token == "7"
	})
	if n := c.countCalls(protocol.MethodWorkDoneProgressCreate); n != 0 {
		t.Errorf("window/workDoneProgress/create sent %d times with a client token", n)
	}
}
