// Gorilla WebSocket server used to record wshs-sniff fixtures, built against
// Debian's golang-github-gorilla-websocket-dev (record.sh builds it with
// GOPATH=/usr/share/gocode and GO111MODULE=off).
//
// /ws    echo; Upgrader.CheckOrigin allows http://app.test (or no Origin),
//        else gorilla's 403
// /chat  echo; requires the subprotocol chat.v1 (a 400 of the app's own)
// other  net/http's 404
// Requests gorilla's Upgrader refuses get its own answers (400, 403, 405
// with a text naming the header).
//
// Usage: server_gorilla PORT HOST
package main

import (
	"fmt"
	"net/http"
	"os"

	"github.com/gorilla/websocket"
)

const chatSubprotocol = "chat.v1"

var upgrader = websocket.Upgrader{
	CheckOrigin: func(r *http.Request) bool {
		o := r.Header.Get("Origin")
		return o == "" || o == "http://app.test" || o == "http://app.test:18450"
	},
}

func echo(c *websocket.Conn) {
	defer c.Close()
	for {
		t, msg, err := c.ReadMessage()
		if err != nil {
			return
		}
		if c.WriteMessage(t, msg) != nil {
			return
		}
	}
}

func ws(w http.ResponseWriter, r *http.Request) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the Upgrader has answered
	}
	echo(c)
}

func chat(w http.ResponseWriter, r *http.Request) {
	offered := false
	for _, p := range websocket.Subprotocols(r) {
		if p == chatSubprotocol {
			offered = true
		}
	}
	if !offered {
		http.Error(w, "missing subprotocol; expected "+chatSubprotocol, http.StatusBadRequest)
		return
	}
	u := upgrader
	u.Subprotocols = []string{chatSubprotocol}
	c, err := u.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	echo(c)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: server_gorilla PORT HOST")
		os.Exit(2)
	}
	http.HandleFunc("/ws", ws)
	http.HandleFunc("/chat", chat)
	addr := os.Args[2] + ":" + os.Args[1]
	fmt.Println("gorilla listening", addr)
	if err := http.ListenAndServe(addr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "server_gorilla:", err)
		os.Exit(1)
	}
}
