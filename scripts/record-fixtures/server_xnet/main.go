// golang.org/x/net/websocket server used to record wshs-sniff fixtures, built
// against Debian's golang-golang-x-net-dev (record.sh builds it with
// GOPATH=/usr/share/gocode and GO111MODULE=off).
//
// /ws    echo; its Handshake allows Origin http://app.test (or the browser
//        fixtures' page, http://app.test:18450); any other Origin, or none
//        (which the package's default handshake refuses too), gets the
//        package's bare 403
// /chat  echo; its Handshake requires the subprotocol chat.v1 (a bare 403)
// other  net/http's 404
// Requests the package's handshake reader refuses get its own answers (400
// or 405 with a short text and no Content-Length; a version other than 13
// with Sec-WebSocket-Version: 13).
//
// Usage: server_xnet PORT HOST
package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"golang.org/x/net/websocket"
)

const chatSubprotocol = "chat.v1"

func echo(ws *websocket.Conn) {
	_, _ = io.Copy(ws, ws)
}

func checkOrigin(cfg *websocket.Config, r *http.Request) error {
	o := r.Header.Get("Origin")
	if o == "http://app.test" || o == "http://app.test:18450" {
		return nil
	}
	return errors.New("origin not allowed")
}

func requireChat(cfg *websocket.Config, r *http.Request) error {
	for _, p := range cfg.Protocol {
		if p == chatSubprotocol {
			cfg.Protocol = []string{chatSubprotocol}
			return nil
		}
	}
	return errors.New("subprotocol " + chatSubprotocol + " required")
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: server_xnet PORT HOST")
		os.Exit(2)
	}
	http.Handle("/ws", websocket.Server{Handshake: checkOrigin, Handler: echo})
	http.Handle("/chat", websocket.Server{Handshake: requireChat, Handler: echo})
	addr := os.Args[2] + ":" + os.Args[1]
	fmt.Println("x/net/websocket on", addr)
	if err := http.ListenAndServe(addr, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
