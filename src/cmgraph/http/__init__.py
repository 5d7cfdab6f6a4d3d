"""The HTTP and WebSocket surface: the ASGI app, authentication, error bodies, uploads and
downloads. It sits on top: nothing below imports it."""
