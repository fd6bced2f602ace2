"""HTTP adapters: caller authentication, the error table and middleware, the routes."""
