"""Long operations shared by `Client` and `AsyncClient`: publishing (one request or chunks),
streamed downloads, job waits, and the Metadata API. Each is a flow (a generator of effects,
`tabsession._effects`) that the clients run, so both behave the same."""

from tabsession.operations.graphql import CursorPager, GraphQLAnswer, MetadataTruncated
from tabsession.operations.publish import DEFAULT_CHUNK_SIZE, SINGLE_REQUEST_LIMIT, PublishSpec
from tabsession.operations.sink import FileSink

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "SINGLE_REQUEST_LIMIT",
    "CursorPager",
    "FileSink",
    "GraphQLAnswer",
    "MetadataTruncated",
    "PublishSpec",
]
