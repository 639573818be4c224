"""The worker keeps running when a message cannot be acknowledged on a lost connection (ALL-5)."""

from unittest import mock

import pytest
from kombu.message import Message

import portal.celery  # noqa: F401 (installs the workaround)


def test_all5_ack_on_a_lost_redis_connection_is_logged_not_fatal():
    """ALL-5: kombu raises AttributeError when a task finishing after a Redis restart acks on the dead
    channel; that failure is logged like a connection error (the message comes back later; tasks are
    idempotent) instead of stopping the worker. Other errors still propagate."""
    message = Message(body=b"{}", delivery_tag="tag-1", channel=mock.Mock())
    message.channel.basic_ack.side_effect = AttributeError("'NoneType' object has no attribute 'hostname'")
    logger = mock.Mock()
    message.ack_log_error(logger, (ConnectionError,))
    assert logger.critical.call_count == 1 and message._state != "ACK"

    message.channel.basic_ack.side_effect = ValueError("not a connection problem")
    with pytest.raises(ValueError):
        message.ack_log_error(logger, (ConnectionError,))
