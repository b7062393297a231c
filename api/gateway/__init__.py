"""The gateway: who is calling (credentials), what they may touch (tenancy), and how often (limits).

``principal`` is the interface between them: authentication turns a bearer credential into a ``Principal``
(Litestar's ``request.user``); authorization checks a request's scope against it; the rate limiter counts by
its ``rate_key``.
"""
