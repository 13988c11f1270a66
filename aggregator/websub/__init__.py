"""Both sides of WebSub (W3C Recommendation, 2018): the rules as decisions on values
(rules, PURE), the HTTP requests to hubs (hub_requests), our subscriptions (subscriber),
the callback hubs call (callback), and the ping to our own hub (ping)."""
