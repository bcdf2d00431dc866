//! An axum WebSocket server used to record wshs-sniff fixtures.
//!
//! `/ws` echoes; Origin must be http://app.test (or absent), else 403.
//! `/chat` echoes and requires the subprotocol chat.v1, else 400.
//! Other paths: axum's 404. Requests axum's `WebSocketUpgrade` extractor
//! refuses get its own answers (405, 400 or 426 with a text naming the header).
//! Usage: server_axum PORT HOST

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;

const ALLOWED_ORIGINS: [&str; 2] = ["http://app.test", "http://app.test:18450"];
const CHAT_SUBPROTOCOL: &str = "chat.v1";

async fn echo(mut socket: WebSocket) {
    while let Some(Ok(msg)) = socket.recv().await {
        let reply = match msg {
            Message::Text(_) | Message::Binary(_) => msg,
            Message::Close(_) => return,
            _ => continue,
        };
        if socket.send(reply).await.is_err() {
            return;
        }
    }
}

async fn ws(headers: HeaderMap, upgrade: WebSocketUpgrade) -> Response {
    let origin = headers.get("origin").and_then(|v| v.to_str().ok());
    if origin.is_some_and(|o| !ALLOWED_ORIGINS.contains(&o)) {
        return (StatusCode::FORBIDDEN, "origin not allowed").into_response();
    }
    upgrade.on_upgrade(echo)
}

async fn chat(headers: HeaderMap, upgrade: WebSocketUpgrade) -> Response {
    let offered = headers
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == CHAT_SUBPROTOCOL);
    if !offered {
        let text = format!("missing subprotocol; expected {CHAT_SUBPROTOCOL}");
        return (StatusCode::BAD_REQUEST, text).into_response();
    }
    upgrade.protocols([CHAT_SUBPROTOCOL]).on_upgrade(echo)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let port = args.next().unwrap_or_else(|| "18476".to_string());
    let host = args.next().unwrap_or_else(|| "127.0.0.1".to_string());
    let app = Router::new()
        .route("/ws", any(ws))
        .route("/chat", any(chat));
    let listener = match tokio::net::TcpListener::bind(format!("{host}:{port}")).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("server_axum: cannot listen on {host}:{port}: {e}");
            std::process::exit(1);
        }
    };
    println!("axum listening {host}:{port}");
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stop).await {
        eprintln!("server_axum: {e}");
        std::process::exit(1);
    }
}
