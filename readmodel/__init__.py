"""The read model as the CLI reads it: every query in one place (`readmodel.queries`), each a
keyword-only function over an engine that returns table rows or typed records."""
