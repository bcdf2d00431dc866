//! tokio-tungstenite's `accept_hdr_async` on a bare TCP listener, used to
//! record wshs-sniff fixtures: what a service built on tungstenite alone
//! (no HTTP framework in front) answers.
//!
//! /ws    echo; Origin must be http://app.test (or the browser page's, or
//!        absent), else a 403 from the callback
//! /chat  echo; requires the subprotocol chat.v1, else a 400 from the callback
//! other  a 404 from the callback
//! Requests tungstenite itself refuses get whatever tungstenite does.
//!
//! Usage: wshs-fixture-server-tungstenite PORT HOST

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};

fn refuse(status: StatusCode, text: &str) -> ErrorResponse {
    let mut r = ErrorResponse::new(Some(text.to_string()));
    *r.status_mut() = status;
    r
}

fn check(req: &Request, mut resp: Response) -> Result<Response, ErrorResponse> {
    match req.uri().path() {
        "/ws" => {
            let origin = req.headers().get("origin").map(HeaderValue::as_bytes);
            match origin {
                None | Some(b"http://app.test") | Some(b"http://app.test:18450") => Ok(resp),
                Some(_) => Err(refuse(StatusCode::FORBIDDEN, "origin not allowed")),
            }
        }
        "/chat" => {
            let offered = req
                .headers()
                .get_all("sec-websocket-protocol")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .any(|p| p.trim() == "chat.v1");
            if !offered {
                return Err(refuse(
                    StatusCode::BAD_REQUEST,
                    "subprotocol chat.v1 required",
                ));
            }
            resp.headers_mut().insert(
                "sec-websocket-protocol",
                HeaderValue::from_static("chat.v1"),
            );
            Ok(resp)
        }
        _ => Err(refuse(StatusCode::NOT_FOUND, "no such endpoint")),
    }
}

async fn serve(stream: TcpStream) {
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, check).await else {
        return;
    };
    while let Some(Ok(msg)) = ws.next().await {
        if msg.is_close() || ws.send(msg).await.is_err() {
            break;
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: wshs-fixture-server-tungstenite PORT HOST");
        std::process::exit(2);
    }
    let listener = match TcpListener::bind(format!("{}:{}", args[2], args[1])).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("bind: {e}");
            std::process::exit(1);
        }
    };
    println!("tokio-tungstenite on {}:{}", args[2], args[1]);
    loop {
        if let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream));
        }
    }
}
