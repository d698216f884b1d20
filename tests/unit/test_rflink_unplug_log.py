"""An unplugged RFLink is one log line, not a traceback from the serial library (issue 11, item 16)."""

from __future__ import annotations

import logging

import drivers.rflink.transport  # noqa: F401  (installs the filter, as the daemon does by importing it)


def test_the_serial_librarys_flush_failure_is_logged_on_one_line(caplog):
    caplog.set_level(logging.DEBUG, logger="serial_asyncio_fast")
    try:
        raise OSError(5, "Input/output error")
    except OSError:
        logging.getLogger("serial_asyncio_fast").debug("Failed to flush serial connection", exc_info=True)
    (record,) = [r for r in caplog.records if r.name == "serial_asyncio_fast"]
    assert record.exc_info is None and record.exc_text is None
    assert record.getMessage() == "Failed to flush serial connection: OSError: [Errno 5] Input/output error"
    assert "Traceback" not in caplog.text
