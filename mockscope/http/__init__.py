"""The only package that speaks HTTP: routes, handlers and the wire format."""
