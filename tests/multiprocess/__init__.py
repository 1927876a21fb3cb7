"""Several real bot processes sharing one database (see ``tests/test_shared_database.py``)."""
