"""The log records' masking (security/masking.py masks the values): id numbers and phone
numbers never reach a log in full. Apart so that what only masks values, as the staff
commands do, does not load the logging package."""

from __future__ import annotations

import logging

from security.masking import mask_text


class MaskingFilter(logging.Filter):
    """Masks id numbers and phone numbers in every record a handler emits."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        return True


def mask_logs(logger: logging.Logger | None = None) -> None:
    """Add the masking filter to every handler of the logger (the root logger by default)."""
    logger = logger or logging.getLogger()
    for handler in logger.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
