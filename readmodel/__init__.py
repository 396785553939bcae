"""The read model as the CLI reads it: every query in one place (`readmodel.queries`), each a
keyword-only function over an engine that returns table rows or typed records. The queries of
the staff's read commands are plain SQL through the DB-API (`readmodel.reads`, offered by
`readmodel.queries` too), so those commands start without SQLAlchemy."""
