package ssh

// Keyboard input of an SSH session, read outside Bubble Tea.
//
// Bubble Tea reads its input with ultraviolet's TerminalReader, which hands
// every decoded event to the program's message channel with a plain send.
// Once the program's event loop has stopped (the user quit, or the server
// ended the session) nothing receives from that channel, so input that
// arrives in that moment (keys typed after q, a terminal's late reply,
// bytes still buffered when the connection dropped) leaves the reader's
// goroutine blocked for good. In a local process that dies with the
// program; in a server it is a goroutine per session, for ever (the dropped
// sessions test found them).
//
// So the program gets an input that never yields a byte (it still counts as
// input, so Bubble Tea queries the terminal and asks for keyboard
// enhancements), and the session's real input is decoded here by the same
// TerminalReader and delivered with Program.Send, which returns at once
// when the program has finished. Replies to the terminal queries come back
// the same way.

import (
	"context"
	"io"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	uv "github.com/charmbracelet/ultraviolet"
)

// sessionInput decodes one session's input and feeds it to its program.
type sessionInput struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when the reader and forwarder are gone
}

// startInput reads r (the session channel) until ctx ends or r does, and
// sends each event to p. term is the client's TERM. A panic while decoding
// (the bytes are the client's) goes to onPanic instead of ending the
// process.
func startInput(ctx context.Context, r io.Reader, term string, p *tea.Program, onPanic func(any)) *sessionInput {
	ctx, cancel := context.WithCancel(ctx)
	in := &sessionInput{cancel: cancel, done: make(chan struct{})}
	events := make(chan uv.Event)
	streamDone := make(chan struct{})
	go func() {
		defer close(streamDone)
		defer catchPanic(onPanic)
		// StreamEvents returns once ctx has ended and r's pending Read
		// has returned (the channel closes with the session).
		_ = uv.NewTerminalReader(r, term).StreamEvents(ctx, events)
	}()
	go func() {
		defer close(in.done)
		defer catchPanic(onPanic)
		for {
			select {
			case ev := <-events:
				p.Send(ev) // returns at once once the program is done
			case <-streamDone:
				return
			}
		}
	}()
	return in
}

// stop ends the reader; it is gone once the session channel's Read
// returns.
func (in *sessionInput) stop() { in.cancel() }

// idleReader is the program's stand-in input: it yields nothing and ends
// (io.EOF) when closed.
type idleReader struct {
	once   *sync.Once
	closed chan struct{}
}

func newIdleReader() idleReader {
	return idleReader{once: &sync.Once{}, closed: make(chan struct{})}
}

func (r idleReader) Read([]byte) (int, error) {
	<-r.closed
	return 0, io.EOF
}

func (r idleReader) Close() error {
	r.once.Do(func() { close(r.closed) })
	return nil
}

// activityReader restarts the idle timer whenever input arrives.
type activityReader struct {
	r     io.Reader
	timer *time.Timer
	d     time.Duration
}

func (a *activityReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if n > 0 {
		a.timer.Reset(a.d)
	}
	return n, err
}
