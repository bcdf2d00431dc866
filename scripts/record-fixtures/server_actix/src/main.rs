//! actix-web with actix-ws, used to record wshs-sniff fixtures: what a
//! service built on actix answers. actix-http's own handshake check refuses
//! a malformed upgrade with a 400 (or 405) whose reason phrase is its own
//! text and whose body is empty.
//!
//! /ws    echo; Origin must be http://app.test (or the browser page's, or
//!        absent), else 403 from the handler
//! /chat  echo; requires the subprotocol chat.v1, else 400 from the handler
//! other  actix-web's default 404
//!
//! Usage: wshs-fixture-server-actix PORT HOST

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{web, App, Error, HttpRequest, HttpResponse, HttpServer};
use futures_util::StreamExt;

fn origin_allowed(req: &HttpRequest) -> bool {
    match req.headers().get("origin").map(HeaderValue::as_bytes) {
        None | Some(b"http://app.test") | Some(b"http://app.test:18450") => true,
        Some(_) => false,
    }
}

fn offers_chat(req: &HttpRequest) -> bool {
    req.headers()
        .get_all("sec-websocket-protocol")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == "chat.v1")
}

/// Upgrades and echoes until the peer closes.
fn upgrade(req: &HttpRequest, body: web::Payload) -> Result<HttpResponse, Error> {
    let (response, mut session, mut stream) = actix_ws::handle(req, body)?;
    actix_web::rt::spawn(async move {
        while let Some(Ok(msg)) = stream.next().await {
            let sent = match msg {
                actix_ws::Message::Text(t) => session.text(t).await,
                actix_ws::Message::Binary(b) => session.binary(b).await,
                actix_ws::Message::Ping(p) => session.pong(&p).await,
                actix_ws::Message::Close(_) => break,
                _ => Ok(()),
            };
            if sent.is_err() {
                return;
            }
        }
        let _ = session.close(None).await;
    });
    Ok(response)
}

async fn ws(req: HttpRequest, body: web::Payload) -> Result<HttpResponse, Error> {
    if !origin_allowed(&req) {
        return Ok(HttpResponse::Forbidden().body("origin not allowed"));
    }
    upgrade(&req, body)
}

async fn chat(req: HttpRequest, body: web::Payload) -> Result<HttpResponse, Error> {
    if !offers_chat(&req) {
        return Ok(HttpResponse::BadRequest().body("subprotocol chat.v1 required"));
    }
    let mut response = upgrade(&req, body)?;
    if response.status().as_u16() == 101 {
        response.headers_mut().insert(
            HeaderName::from_static("sec-websocket-protocol"),
            HeaderValue::from_static("chat.v1"),
        );
    }
    Ok(response)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: wshs-fixture-server-actix PORT HOST");
        std::process::exit(2);
    }
    let port: u16 = match args[1].parse() {
        Ok(p) => p,
        Err(_) => {
            eprintln!("bad port {}", args[1]);
            std::process::exit(2);
        }
    };
    println!("actix listening {}:{}", args[2], port);
    HttpServer::new(|| {
        App::new()
            .route("/ws", web::get().to(ws))
            .route("/chat", web::get().to(chat))
            .route("/hello", web::get().to(|| async { "hello\n" }))
    })
    .workers(1)
    .bind((args[2].as_str(), port))?
    .run()
    .await
}
