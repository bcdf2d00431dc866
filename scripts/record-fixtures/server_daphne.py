"""Django Channels 4 on Daphne, used to record fixtures: the ASGI stack of a
Django project, configured in this one file.

/ws    echo WebSocket behind Channels' OriginValidator (http://app.test allowed)
/chat  echo WebSocket whose consumer closes before accepting unless chat.v1
       is offered
other  no route: Channels' URLRouter raises, and Daphne answers what it answers
Consumers that close before accepting are answered 403 by Daphne.
Usage: server_daphne.py PORT HOST
"""
import sys

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["*"],
    SECRET_KEY="fixture-recording-only-not-a-secret",
    INSTALLED_APPS=["channels"],
    ROOT_URLCONF=__name__,
    USE_TZ=True,
)
django.setup()

from channels.generic.websocket import WebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import OriginValidator  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.urls import path  # noqa: E402

urlpatterns = []
CHAT_SUBPROTOCOL = "chat.v1"


class Echo(WebsocketConsumer):
    def receive(self, text_data=None, bytes_data=None):
        self.send(text_data=text_data, bytes_data=bytes_data)


class Chat(Echo):
    def connect(self):
        if CHAT_SUBPROTOCOL in self.scope.get("subprotocols", []):
            self.accept(CHAT_SUBPROTOCOL)
        else:
            self.close()


application = ProtocolTypeRouter({
    "http": get_asgi_application(),
    "websocket": OriginValidator(
        URLRouter([path("ws", Echo.as_asgi()), path("chat", Chat.as_asgi())]),
        ["http://app.test", "http://app.test:18450"],
    ),
})


if __name__ == "__main__":
    from daphne.cli import CommandLineInterface

    port, host = sys.argv[1], sys.argv[2]
    CommandLineInterface().run(["-b", host, "-p", port, "-v", "0", f"{__name__}:application"])
