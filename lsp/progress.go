package lsp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.lsp.dev/protocol"
)

// progress reports one job with $/progress: begin, "command 3 of 12"
// reports, end. Reports are coalesced by a sender goroutine, so a
// transcript of a thousand fast commands never waits on the client, and
// the order begin < reports < end holds. A nil *progress (the client
// takes no progress) ignores every call.
type progress struct {
	s     *Server
	token json.RawMessage

	latest chan protocol.WorkDoneProgressReport // capacity 1: the newest report
	end    chan string
	done   chan struct{}
}

// tokenKey is a progress token's identity: its compact JSON text, so that
// 7 and "7" differ and a token round-trips whatever its type.
func tokenKey(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

// beginProgress starts reporting j. The client's own workDoneToken (sent
// with executeCommand) is used when there is one; otherwise the server
// creates a token if the client supports window/workDoneProgress. The
// token is registered so that window/workDoneProgress/cancel finds j.
func (s *Server) beginProgress(j *job, clientToken json.RawMessage, title, message string) *progress {
	token := clientToken
	if len(token) == 0 || string(token) == "null" {
		token = nil
		s.mu.Lock()
		ok := s.caps.Window != nil && s.caps.Window.WorkDoneProgress
		s.mu.Unlock()
		if !ok {
			return nil
		}
		token, _ = json.Marshal(fmt.Sprintf("cmdt/%s/%d", j.kind.verb(), s.progressSeq.Add(1)))
		ctx, cancel := context.WithTimeout(j.ctx, 10*time.Second)
		defer cancel()
		if _, err := s.conn.Call(ctx, protocol.MethodWorkDoneProgressCreate, map[string]json.RawMessage{"token": token}, nil); err != nil {
			s.log.Debug("window/workDoneProgress/create failed", "err", err)
			return nil
		}
	}
	s.runs.addToken(tokenKey(token), j)
	p := &progress{s: s, token: token, latest: make(chan protocol.WorkDoneProgressReport, 1), end: make(chan string), done: make(chan struct{})}
	p.send(protocol.WorkDoneProgressBegin{Kind: protocol.WorkDoneProgressKindBegin, Title: title, Cancellable: true, Message: message})
	go p.loop()
	return p
}

func (p *progress) send(value interface{}) {
	// Not the job's context: the end of a cancelled job must still be sent.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	params := struct {
		Token json.RawMessage `json:"token"`
		Value interface{}     `json:"value"`
	}{p.token, value}
	if err := p.s.conn.Notify(ctx, protocol.MethodProgress, params); err != nil {
		p.s.log.Debug("$/progress failed", "err", err)
	}
}

func (p *progress) loop() {
	defer close(p.done)
	for {
		select {
		case r := <-p.latest:
			p.send(r)
		case msg := <-p.end:
			p.send(protocol.WorkDoneProgressEnd{Kind: protocol.WorkDoneProgressKindEnd, Message: msg})
			return
		}
	}
}

// report replaces any report not yet sent with this one.
func (p *progress) report(message string, percentage uint32) {
	if p == nil {
		return
	}
	r := protocol.WorkDoneProgressReport{Kind: protocol.WorkDoneProgressKindReport, Cancellable: true, Message: message, Percentage: percentage}
	for {
		select {
		case p.latest <- r:
			return
		default:
		}
		select {
		case <-p.latest: // drop the stale one
		default:
		}
	}
}

// finish sends the end and waits until it is written.
func (p *progress) finish(message string) {
	if p == nil {
		return
	}
	p.end <- message
	<-p.done
}
