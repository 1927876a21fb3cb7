"""A real PostgreSQL for the tests: started with initdb + pg_ctl on 127.0.0.1 in a temporary directory."""
