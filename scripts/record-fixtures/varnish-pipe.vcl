# Varnish in front of Python websockets (127.0.0.1:18401) for the
# varnish-good fixture: an upgrade is piped, with Upgrade and Connection
# copied onto the backend request (Varnish drops both by default).
vcl 4.1;

backend default {
    .host = "127.0.0.1";
    .port = "18401";
}

sub vcl_recv {
    if (req.http.upgrade ~ "(?i)websocket") {
        return (pipe);
    }
}

sub vcl_pipe {
    if (req.http.upgrade) {
        set bereq.http.upgrade = req.http.upgrade;
        set bereq.http.connection = req.http.connection;
    }
}
