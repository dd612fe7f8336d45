"""Errors the emulator's state raises, carrying exactly what Tableau would send back.

State code raises `ApiError`; the HTTP layer renders it (XML or JSON). Summaries and details are
the strings live servers send (see the spec, §3.3), not the reference tables' variants.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["ApiError", "text_field"]


class ApiError(Exception):
    """An error response: HTTP status, six-digit Tableau code, summary and detail."""

    def __init__(
        self,
        status: int,
        code: str,
        summary: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code} {summary}: {detail}")
        self.status = status
        self.code = code
        self.summary = summary
        self.detail = detail
        self.headers = headers or {}

    # -- the catalogue -------------------------------------------------------------------------

    @classmethod
    def malformed_body(cls, why: str = "") -> ApiError:
        detail = "Payload is either malformed or incomplete"
        return cls(400, "400000", "Bad Request", f"{detail} ({why})" if why else detail)

    @classmethod
    def invalid_page_number(cls) -> ApiError:
        return cls(
            400,
            "400006",
            "Invalid page number",
            "The page number is not an integer, is less than one, or is greater than the final "
            "page number for the requested page size.",
        )

    @classmethod
    def invalid_page_size(cls) -> ApiError:
        return cls(
            400,
            "400007",
            "Invalid page size",
            "The page size parameter is not an integer, is less than one.",
        )

    @classmethod
    def bad_query(cls, detail: str) -> ApiError:
        return cls(400, "400065", "Bad Request", detail)

    @classmethod
    def no_credentials(cls) -> ApiError:
        return cls(
            401, "401000", "Unauthorized Access", "No authentication credentials were provided"
        )

    @classmethod
    def signin_error(cls) -> ApiError:
        return cls(401, "401001", "Signin Error", "Error signing in to Tableau Server")

    @classmethod
    def invalid_credentials(cls, code: str = "401002") -> ApiError:
        """An unknown, ended or expired token (`code`: the emulator's `expired_code` knob)."""
        return cls(
            401,
            code,
            "Unauthorized Access",
            "Invalid authentication credentials were provided.",
        )

    @classmethod
    def page_size_limit(cls) -> ApiError:
        return cls(
            403,
            "403014",
            "Page size limit exceeded",
            "The specified page size is larger than the maximum page size",
        )

    @classmethod
    def same_site(cls) -> ApiError:
        return cls(
            403, "403070", "Bad Request", "The session is already signed in to the requested site."
        )

    @classmethod
    def sites_query_not_supported(cls) -> ApiError:
        return cls(
            403, "403069", "Forbidden", "Querying all sites is not supported on Tableau Cloud."
        )

    @classmethod
    def forbidden(cls, detail: str) -> ApiError:
        return cls(403, "403004", "Forbidden", detail)

    @classmethod
    def site_not_found(cls, site_id: str) -> ApiError:
        return cls(
            404,
            "404000",
            "Site not found",
            f"The site ID '{site_id}' in the URI doesn't correspond to an existing site.",
        )

    @classmethod
    def unknown_resource(cls, path: str) -> ApiError:
        return cls(
            404, "404003", "Resource Not Found", f"Unknown resource '{path}' specified in URI."
        )

    @classmethod
    def item_not_found(cls, code: str, kind: str, item_id: str) -> ApiError:
        return cls(
            404,
            code,
            f"{kind.capitalize()} not found",
            f"The {kind} ID '{item_id}' in the URI doesn't correspond to an existing {kind}.",
        )

    @classmethod
    def session_not_found(cls, session_id: str) -> ApiError:
        return cls(
            404, "404029", "Content not found", f"Session '{session_id}' could not be found."
        )

    @classmethod
    def method_not_allowed(cls, method: str) -> ApiError:
        return cls(
            405,
            "405000",
            "Method Not Allowed",
            f"The HTTP method '{method}' is not supported for the given resource",
        )

    @classmethod
    def conflict(cls, code: str, summary: str, detail: str) -> ApiError:
        return cls(409, code, summary, detail)


def text_field(data: Mapping[str, Any], key: str) -> str | None:
    """A scalar field of a request body as text, None when absent; 400000 when it is an object
    or a list (request bodies reach the state as dicts, from XML or JSON alike)."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        raise ApiError.malformed_body(f"'{key}' must be a string")
    return str(value)
